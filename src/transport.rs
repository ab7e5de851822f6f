//! stdio for the MCP session, with a guard in front of rmcp: every line the
//! client sends gets an answer as JSON-RPC 2.0 asks, even one rmcp would
//! drop or answer wrongly, and the session goes on.
//!
//! | line | answer |
//! | --- | --- |
//! | not UTF-8, not JSON, nested too deep, over 16 MiB | `-32700` parse error, `id` null |
//! | JSON that is not a request, response or notification | `-32600` with the `id` when there is one |
//! | `tools/call` whose `arguments` is not an object | `-32602` naming `arguments` |
//! | anything else | passed to rmcp |
//!
//! rmcp's answers and the guard's go out through one writer, a line at a
//! time, so they never interleave.

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::mpsc;

/// The longest line accepted.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// What to do with one line from the client.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// Pass it to rmcp.
    Forward,
    /// Answer it with this message; rmcp never sees it.
    Answer(Value),
    /// Nothing to do (a blank line).
    Skip,
}

fn error(id: Value, code: i64, message: String) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// Judges one line (without its newline).
fn judge(line: &[u8]) -> Verdict {
    let Ok(text) = std::str::from_utf8(line) else {
        return Verdict::Answer(error(
            Value::Null,
            -32700,
            "Parse error: the message is not valid UTF-8".into(),
        ));
    };
    if text.trim().is_empty() {
        return Verdict::Skip;
    }
    let message: Value = match serde_json::from_str(text) {
        Ok(message) => message,
        Err(e) => {
            return Verdict::Answer(error(Value::Null, -32700, format!("Parse error: {e}")));
        }
    };
    let Value::Object(object) = &message else {
        if message.is_array() {
            return Verdict::Forward;
        }
        return Verdict::Answer(error(
            Value::Null,
            -32600,
            "Invalid Request: a message must be a JSON object".into(),
        ));
    };
    let id = object.get("id").cloned();
    match object.get("method") {
        Some(Value::String(method)) => {
            if method == "tools/call"
                && let Some(id) = id
            {
                let arguments = object
                    .get("params")
                    .and_then(|params| params.get("arguments"));
                if matches!(arguments, Some(value) if !value.is_object() && !value.is_null()) {
                    return Verdict::Answer(error(
                        id,
                        -32602,
                        "Invalid params: `arguments` must be an object of the tool's arguments"
                            .into(),
                    ));
                }
            }
            Verdict::Forward
        }
        Some(_) => Verdict::Answer(error(
            id.unwrap_or(Value::Null),
            -32600,
            "Invalid Request: `method` must be a string".into(),
        )),
        // A response to a request of ours.
        None if object.contains_key("result") || object.contains_key("error") => Verdict::Forward,
        None => Verdict::Answer(error(
            id.unwrap_or(Value::Null),
            -32600,
            "Invalid Request: no `method`".into(),
        )),
    }
}

/// Reads one line of at most [`MAX_LINE`] bytes into `line` (without the
/// newline); `Ok(false)` at the end of input. A longer line is consumed and
/// reported as `Err(len)`.
async fn read_line<R: AsyncBufReadExt + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> std::io::Result<Result<bool, usize>> {
    line.clear();
    let mut total = 0usize;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(Ok(total > 0));
        }
        let (chunk, found) = match available.iter().position(|b| *b == b'\n') {
            Some(at) => (&available[..at], Some(at)),
            None => (available, None),
        };
        total += chunk.len();
        if total <= MAX_LINE {
            line.extend_from_slice(chunk);
        } else {
            line.clear();
        }
        let consumed = found.map_or(chunk.len(), |at| at + 1);
        reader.consume(consumed);
        if found.is_some() {
            return Ok(if total > MAX_LINE {
                Err(total)
            } else {
                Ok(true)
            });
        }
    }
}

/// The transport rmcp serves on (guarded stdin, shared stdout), and the
/// writer's task: await it after the session ends, so that the last answers
/// are written before the process exits.
pub fn stdio() -> ((DuplexStream, DuplexStream), tokio::task::JoinHandle<()>) {
    guarded(tokio::io::stdin(), tokio::io::stdout())
}

/// [`stdio`] over any input and output.
pub fn guarded<I, O>(
    input: I,
    output: O,
) -> ((DuplexStream, DuplexStream), tokio::task::JoinHandle<()>)
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    let (rmcp_reads, mut to_rmcp) = tokio::io::duplex(1 << 20);
    let (from_rmcp, rmcp_writes) = tokio::io::duplex(1 << 20);
    let (lines, mut outgoing) = mpsc::channel::<Vec<u8>>(64);

    // One writer: rmcp's messages and the guard's answers, a line each.
    let writer = tokio::spawn(async move {
        let mut output = output;
        while let Some(mut line) = outgoing.recv().await {
            line.push(b'\n');
            if output.write_all(&line).await.is_err() || output.flush().await.is_err() {
                return;
            }
        }
    });

    let answers = lines.clone();
    tokio::spawn(async move {
        let mut from_rmcp = BufReader::new(from_rmcp);
        let mut line = Vec::new();
        loop {
            line.clear();
            match from_rmcp.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                line.pop();
            }
            if lines.send(line.clone()).await.is_err() {
                return;
            }
        }
    });

    tokio::spawn(async move {
        let mut input = BufReader::new(input);
        let mut line = Vec::new();
        loop {
            let verdict = match read_line(&mut input, &mut line).await {
                Err(_) | Ok(Ok(false)) => return,
                Ok(Err(length)) => Verdict::Answer(error(
                    Value::Null,
                    -32700,
                    format!(
                        "Parse error: the message is {length} bytes; at most {MAX_LINE} are read"
                    ),
                )),
                Ok(Ok(true)) => judge(&line),
            };
            match verdict {
                Verdict::Skip => {}
                Verdict::Answer(answer) => {
                    if answers.send(answer.to_string().into_bytes()).await.is_err() {
                        return;
                    }
                }
                Verdict::Forward => {
                    line.push(b'\n');
                    if to_rmcp.write_all(&line).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    ((rmcp_reads, rmcp_writes), writer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(line: &str) -> Value {
        match judge(line.as_bytes()) {
            Verdict::Answer(answer) => answer,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn broken_lines_are_answered_as_json_rpc_says() {
        assert_eq!(answer("not json")["error"]["code"], -32700);
        assert_eq!(answer("not json")["id"], Value::Null);
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        assert_eq!(answer(&deep)["error"]["code"], -32700);
        assert_eq!(
            judge(b"\xff\xfe"),
            Verdict::Answer(error(
                Value::Null,
                -32700,
                "Parse error: the message is not valid UTF-8".into()
            ))
        );
        let no_method = answer(r#"{"jsonrpc":"2.0","id":5}"#);
        assert_eq!(
            (no_method["id"].clone(), no_method["error"]["code"].clone()),
            (json!(5), json!(-32600))
        );
        assert_eq!(answer("42")["error"]["code"], -32600);
        let bad_arguments = answer(
            r#"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"t","arguments":[1]}}"#,
        );
        assert_eq!(bad_arguments["id"], "a");
        assert_eq!(bad_arguments["error"]["code"], -32602);
        assert!(
            bad_arguments["error"]["message"]
                .as_str()
                .unwrap()
                .contains("`arguments`")
        );
    }

    #[test]
    fn good_messages_pass() {
        for line in [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":7,"result":{}}"#,
        ] {
            assert_eq!(judge(line.as_bytes()), Verdict::Forward, "{line}");
        }
        assert_eq!(judge(b"   "), Verdict::Skip);
    }

    #[tokio::test]
    async fn an_oversized_line_is_consumed_and_reported() {
        let mut input = vec![b'x'; MAX_LINE + 10];
        input.extend_from_slice(b"\n{}\n");
        let mut reader = BufReader::new(&input[..]);
        let mut line = Vec::new();
        assert_eq!(
            read_line(&mut reader, &mut line).await.unwrap(),
            Err(MAX_LINE + 10)
        );
        assert_eq!(read_line(&mut reader, &mut line).await.unwrap(), Ok(true));
        assert_eq!(line, b"{}");
        assert_eq!(read_line(&mut reader, &mut line).await.unwrap(), Ok(false));
    }
}
