//! A connected Kitaru server, and a connector that connects on first use.

use kitaru_client::Client;
use kitaru_client::connection::{ConnectionOptions, ResolvedConnection, Source};
use kitaru_client::types::ProjectResponse;
use std::sync::Arc;

use tokio::sync::watch;

use crate::error::ApiContext as _;
use crate::{Error, Program};

/// A connected Kitaru server: the typed client and where it points.
///
/// Every SDK function takes one:
///
/// ```no_run
/// # async fn example() -> Result<(), kitaru_sdk::Error> {
/// use kitaru_sdk::{Kitaru, executions};
///
/// let kitaru = Kitaru::connect().await?; // as the `kitaru` CLI would
/// for execution in executions::list(&kitaru, &Default::default(), Some(5)).await? {
///     println!("{} {}", execution.summary.exec_id, execution.summary.status);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Kitaru {
    /// The typed client.
    pub client: Client,
    /// Where the connection points and where each setting came from.
    pub connection: ResolvedConnection,
    /// The server's version, asked on first need ([`Kitaru::server`]).
    pub(crate) server: Arc<tokio::sync::OnceCell<crate::server::ServerFacts>>,
    /// Set once the server said it streams no run events (501, 404): not
    /// asked again on this connection.
    pub(crate) no_event_streams: Arc<std::sync::atomic::AtomicBool>,
}

impl Kitaru {
    /// Connects the way the `kitaru` CLI does: the `KITARU_*` / `ZENML_*`
    /// variables, then the CLI's config files (`kitaru login`).
    pub async fn connect() -> Result<Self, Error> {
        Self::connect_with(&ConnectionOptions::new()).await
    }

    /// Connects with explicit settings first, then as the CLI does for
    /// whatever `options` leaves unset.
    pub async fn connect_with(options: &ConnectionOptions) -> Result<Self, Error> {
        let (connection, client) = options.connect().await?;
        Ok(Self::new(client, connection))
    }

    /// A connected server from a client and the connection it was made
    /// from (see [`ResolvedConnection::connect`]).
    pub fn new(client: Client, connection: ResolvedConnection) -> Self {
        Self {
            client,
            connection,
            server: Arc::default(),
            no_event_streams: Arc::default(),
        }
    }

    /// The project (name or id) that list queries are scoped to, if one is
    /// configured; otherwise the server's default project applies.
    pub fn project(&self) -> Option<&str> {
        self.connection.project.as_deref()
    }

    /// The active project, chosen as the Kitaru CLI (ZenML's client)
    /// chooses it, by one rule:
    ///
    /// 1. the project the connection names ([`Kitaru::project`]). One named
    ///    by explicit options or a variable (`KITARU_PROJECT`,
    ///    `ZENML_ACTIVE_PROJECT_ID`) must exist: it is an error when it does
    ///    not. One saved in the CLI's config files may have been deleted
    ///    since; then the next steps apply, as the CLI falls back too;
    /// 2. else the current user's default project, if it still exists;
    /// 3. else the server's only project.
    ///
    /// With none of these, no project is active: an error saying how to
    /// pick one.
    pub async fn active_project(&self) -> Result<ProjectResponse, Error> {
        if let Some(configured) = self.project() {
            let saved = matches!(self.connection.sources.project, Some(Source::File(_)));
            match self.load_project(configured).await {
                Ok(project) => return Ok(project),
                Err(error) if saved && error.is_not_found() => {
                    tracing::debug!(
                        "the saved active project '{configured}' is gone; falling back: {error}"
                    );
                }
                Err(error) => return Err(error),
            }
        }
        let user = self
            .client
            .get_current_user()
            .send()
            .await
            .context("Failed to read the current user")?
            .into_inner();
        if let Some(id) = user.body.and_then(|body| body.default_project_id) {
            match self.load_project(&id.to_string()).await {
                Ok(project) => return Ok(project),
                Err(error) if error.is_not_found() => {}
                Err(error) => return Err(error),
            }
        }
        let projects = self
            .client
            .list_projects()
            .size(2)
            .send()
            .await
            .context("Failed to list projects")?
            .into_inner()
            .items;
        <[ProjectResponse; 1]>::try_from(projects)
            .map(|[only]| only)
            .map_err(|projects| {
                Error::State(format!(
                    "No project is active and the server has {}; pick one with `kitaru project \
                     set <name>` or KITARU_PROJECT.",
                    if projects.is_empty() {
                        "none"
                    } else {
                        "several"
                    }
                ))
            })
    }

    /// The project named `name_or_id`.
    async fn load_project(&self, name_or_id: &str) -> Result<ProjectResponse, Error> {
        self.client
            .get_project()
            .project_name_or_id(name_or_id)
            .send()
            .await
            .map(|answer| answer.into_inner())
            .context(format!("Failed to load project '{name_or_id}'"))
    }
}

/// Connects on first use and keeps the connection.
///
/// A long-lived program (a server, say) holds one, so starting up never
/// waits for the Kitaru server. Callers asking while an attempt is under
/// way share it, and all get its outcome when it ends (a server that never
/// answers costs each of them one timeout, not one per caller before it).
/// The attempt runs on its own, so a caller giving up does not cancel it
/// for the others. A failed attempt is not kept: the next call tries again
/// (say, after the user ran `kitaru login`). [`Connector::reset`] forgets
/// the connection, so that the next call resolves it anew (after the local
/// server was started or stopped, say).
#[derive(Debug, Default)]
pub struct Connector {
    options: ConnectionOptions,
    program: Program,
    state: Arc<std::sync::Mutex<State>>,
}

/// Where a connector stands.
#[derive(Debug, Default)]
enum State {
    /// Not connected, no attempt under way.
    #[default]
    Idle,
    /// An attempt is under way; its outcome arrives on the channel.
    Connecting(watch::Receiver<Option<Result<Arc<Kitaru>, Error>>>),
    /// Connected.
    Connected(Arc<Kitaru>),
}

impl Connector {
    /// A connector that resolves `options` against the process environment
    /// and the CLI's config files.
    pub fn new(options: ConnectionOptions) -> Self {
        Self {
            options,
            program: Program::default(),
            state: Arc::default(),
        }
    }

    /// The same connector, used by `program` (which status reports name).
    pub fn with_program(mut self, program: Program) -> Self {
        self.program = program;
        self
    }

    /// The options connections are resolved from.
    pub fn options(&self) -> &ConnectionOptions {
        &self.options
    }

    /// The program using the connector.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The connected server, connecting now if needed. Callers asking at
    /// the same time share one attempt.
    pub async fn get(&self) -> Result<Arc<Kitaru>, Error> {
        let mut outcome = {
            let mut state = self
                .state
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match &*state {
                State::Connected(kitaru) => return Ok(Arc::clone(kitaru)),
                State::Connecting(outcome) => outcome.clone(),
                State::Idle => {
                    let (sender, outcome) = watch::channel(None);
                    *state = State::Connecting(outcome.clone());
                    tokio::spawn(attempt(
                        self.options.clone(),
                        Arc::clone(&self.state),
                        sender,
                    ));
                    outcome
                }
            }
        };
        let ended = outcome.wait_for(Option::is_some).await.map_err(|_| {
            Error::Unexpected("the connection attempt ended without an outcome".to_owned())
        })?;
        ended
            .clone()
            .unwrap_or_else(|| Err(Error::Unexpected("no connection outcome".to_owned())))
    }

    /// The connected server if a connection is made, without connecting.
    pub fn connected(&self) -> Option<Arc<Kitaru>> {
        match &*self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
        {
            State::Connected(kitaru) => Some(Arc::clone(kitaru)),
            _ => None,
        }
    }

    /// Forgets the connection: the next [`Connector::get`] resolves and
    /// connects again. Calls already holding the old one finish with it.
    pub async fn reset(&self) {
        *self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = State::Idle;
    }
}

/// One connection attempt: its outcome goes to every waiting caller, and
/// into `state` unless the connector was reset meanwhile.
async fn attempt(
    options: ConnectionOptions,
    state: Arc<std::sync::Mutex<State>>,
    sender: watch::Sender<Option<Result<Arc<Kitaru>, Error>>>,
) {
    let outcome = Kitaru::connect_with(&options).await.map(Arc::new);
    if let Ok(kitaru) = &outcome {
        for warning in &kitaru.connection.warnings {
            tracing::warn!("{warning}");
        }
        // The server's version, for what differs between server lines: a
        // server that does not say is still connected (it is asked again
        // when needed).
        match kitaru.server().await {
            Ok(facts) => tracing::info!(
                "connected to {} (ZenML {}, the kitaru {} line{})",
                kitaru.connection,
                facts.version,
                facts.line.kitaru(),
                if facts.known() {
                    ""
                } else {
                    "; a version this build has no API document of"
                }
            ),
            Err(error) => {
                tracing::info!("connected to {}", kitaru.connection);
                tracing::warn!("{error}");
            }
        }
    }
    if let Err(error) = &outcome {
        tracing::warn!("cannot connect to the Kitaru server: {error}");
    }
    {
        let mut state = state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let still_ours = matches!(&*state, State::Connecting(receiver) if receiver.same_channel(&sender.subscribe()));
        if still_ours {
            *state = match &outcome {
                Ok(kitaru) => State::Connected(Arc::clone(kitaru)),
                Err(_) => State::Idle,
            };
        }
    }
    let _ = sender.send(Some(outcome));
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_waiting_for_a_hung_server_share_one_attempt() {
        // Accepts connections and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                held.push(stream);
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let connector = Arc::new(Connector::new(
            ConnectionOptions::new()
                .config_dir(dir.path())
                .working_dir(dir.path())
                .server_url(format!("http://127.0.0.1:{port}"))
                .bearer_token("t")
                .project("default")
                .http_timeout(Duration::from_secs(1)),
        ));
        let started = Instant::now();
        let calls: Vec<_> = (0..5)
            .map(|_| {
                let connector = Arc::clone(&connector);
                tokio::spawn(async move { connector.get().await })
            })
            .collect();
        for call in calls {
            let error = call.await.unwrap().unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::Unavailable, "{error}");
            assert!(error.to_string().contains("timed out"), "{error}");
        }
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "one attempt for five callers"
        );
        // One timeout for all of them (one after the other would be five).
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );

        // A failed attempt is not kept: the next call tries again.
        assert!(connector.get().await.is_err());
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }
}
