//! Connections for many users at once: one [`Connector`] per credential,
//! for a service that acts as each of its callers (kitaru-mcp over HTTP).
//!
//! A credential's connection is kept once the Kitaru server accepted it,
//! the least recently used dropped past a bound; connections of credentials
//! not (yet) accepted are kept apart, in a short list of their own, so a
//! flood of made-up credentials pushes out only each other and never a
//! caller who got in.

use std::sync::{Arc, Mutex};

use kitaru_client::ConnectionOptions;

use crate::{Connector, Error, Kitaru, Program};

/// How many accepted credentials' connections a pool keeps by default.
pub const ACCEPTED_KEPT: usize = 1_000;
/// How many connections of credentials not (yet) accepted it keeps.
pub const PENDING_KEPT: usize = 64;

/// What a caller authenticates with.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A service-account API key (exchanged for a token on connecting).
    ApiKey(String),
    /// An API token, used as it is.
    Token(String),
}

impl std::fmt::Debug for Credential {
    /// Never the secret itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ApiKey(_) => "ApiKey(..)",
            Self::Token(_) => "Token(..)",
        })
    }
}

impl Credential {
    fn key(&self) -> String {
        match self {
            Self::ApiKey(key) => format!("k:{key}"),
            Self::Token(token) => format!("t:{token}"),
        }
    }
}

/// The connections of the credentials seen so far (see the module).
#[derive(Debug)]
pub struct ConnectorPool {
    base: ConnectionOptions,
    program: Program,
    accepted_kept: usize,
    connectors: Mutex<Connectors>,
}

/// Connections by credential key, least recently used first.
#[derive(Debug, Default)]
struct Connectors {
    accepted: Vec<(String, Arc<Connector>)>,
    pending: Vec<(String, Arc<Connector>)>,
}

impl ConnectorPool {
    /// Connections made with `base` (server URL, project, TLS settings) and
    /// each credential, keeping up to 1,000 accepted ones.
    pub fn new(base: ConnectionOptions) -> Self {
        Self::with_capacity(base, ACCEPTED_KEPT)
    }

    /// The same, keeping up to `accepted_kept` accepted credentials.
    pub fn with_capacity(base: ConnectionOptions, accepted_kept: usize) -> Self {
        Self {
            base,
            program: Program::default(),
            accepted_kept: accepted_kept.max(1),
            connectors: Mutex::default(),
        }
    }

    /// Connections that name `program` (see [`Connector::with_program`]).
    pub fn with_program(mut self, program: Program) -> Self {
        self.program = program;
        self
    }

    /// The connection for `credential`: the one kept for it, or a new one
    /// (kept apart until the server accepts the credential, see
    /// [`kitaru`](Self::kitaru)). Connecting is left to the caller.
    pub fn connector(&self, credential: &Credential) -> Arc<Connector> {
        self.lookup(credential).1
    }

    /// The connected server for `credential`: its connection is kept only
    /// once the Kitaru server accepted it.
    pub async fn kitaru(&self, credential: &Credential) -> Result<Arc<Kitaru>, Error> {
        let (key, connector, kept) = self.lookup(credential);
        let kitaru = connector.get().await?;
        if !kept {
            self.keep(key, connector);
        }
        Ok(kitaru)
    }

    /// How many accepted credentials' connections are kept.
    pub fn kept(&self) -> usize {
        self.lock().accepted.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connectors> {
        self.connectors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The key, the connection, and whether it is kept as accepted.
    fn lookup(&self, credential: &Credential) -> (String, Arc<Connector>, bool) {
        let key = credential.key();
        let mut connectors = self.lock();
        if let Some(at) = connectors
            .accepted
            .iter()
            .position(|(known, _)| *known == key)
        {
            // Most recently used last.
            let entry = connectors.accepted.remove(at);
            let connector = Arc::clone(&entry.1);
            connectors.accepted.push(entry);
            return (key, connector, true);
        }
        // Not accepted yet: the same credential again reuses its
        // connection, but pending ones only ever push out each other.
        if let Some((_, connector)) = connectors.pending.iter().find(|(known, _)| *known == key) {
            return (key, Arc::clone(connector), false);
        }
        let options = match credential {
            Credential::ApiKey(api_key) => self.base.clone().api_key(api_key.clone()),
            Credential::Token(token) => self.base.clone().bearer_token(token.clone()),
        };
        let connector = Arc::new(Connector::new(options).with_program(self.program.clone()));
        if connectors.pending.len() >= PENDING_KEPT {
            connectors.pending.remove(0);
        }
        connectors
            .pending
            .push((key.clone(), Arc::clone(&connector)));
        (key, connector, false)
    }

    /// Keeps an accepted credential's connection, dropping the least
    /// recently used past the bound.
    fn keep(&self, key: String, connector: Arc<Connector>) {
        let mut connectors = self.lock();
        connectors.pending.retain(|(known, _)| *known != key);
        if connectors.accepted.iter().any(|(known, _)| *known == key) {
            return;
        }
        if connectors.accepted.len() >= self.accepted_kept {
            connectors.accepted.remove(0);
        }
        connectors.accepted.push((key, connector));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str) -> Credential {
        Credential::Token(text.to_owned())
    }

    #[test]
    fn a_credential_is_kept_only_once_accepted() {
        let pool = ConnectorPool::new(ConnectionOptions::new().server_url("http://127.0.0.1:1"));
        pool.keep(token("t1").key(), Arc::new(Connector::default()));
        let a = pool.connector(&token("t1"));
        let again = pool.connector(&token("t1"));
        let b = pool.connector(&token("t2"));
        let b_again = pool.connector(&token("t2"));
        assert!(Arc::ptr_eq(&a, &again), "kept");
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(Arc::ptr_eq(&b, &b_again), "pending: reused, not yet kept");
        assert_eq!(pool.kept(), 1, "not accepted yet: not kept");
        // A flood of other credentials pushes out pending ones only.
        for n in 0..2 * PENDING_KEPT {
            pool.connector(&token(&format!("junk{n}")));
        }
        assert!(Arc::ptr_eq(&a, &pool.connector(&token("t1"))));
        assert!(!Arc::ptr_eq(&b, &pool.connector(&token("t2"))));
        assert_eq!(pool.kept(), 1);
        // A key and a token of the same text are different credentials.
        let key = pool.connector(&Credential::ApiKey("t1".into()));
        assert!(!Arc::ptr_eq(&a, &key));
    }

    #[test]
    fn the_least_recently_used_accepted_credential_goes_first() {
        let pool = ConnectorPool::with_capacity(ConnectionOptions::new(), 2);
        for name in ["a", "b"] {
            pool.keep(token(name).key(), Arc::new(Connector::default()));
        }
        let a = pool.connector(&token("a"));
        pool.keep(token("c").key(), Arc::new(Connector::default()));
        assert_eq!(pool.kept(), 2);
        assert!(
            Arc::ptr_eq(&a, &pool.connector(&token("a"))),
            "a was used last"
        );
        assert_eq!(
            pool.lock()
                .accepted
                .iter()
                .filter(|(k, _)| k == "t:b")
                .count(),
            0
        );
    }

    #[tokio::test]
    async fn refused_credentials_are_not_kept() {
        // Nothing listens on port 1: no credential is ever accepted.
        let pool = ConnectorPool::new(
            ConnectionOptions::new()
                .server_url("http://127.0.0.1:1")
                .project("default"),
        );
        for n in 0..5 {
            assert!(pool.kitaru(&token(&format!("junk{n}"))).await.is_err());
        }
        assert_eq!(pool.kept(), 0);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let shown = format!("{:?}", Credential::ApiKey("ZENKEY_secret".into()));
        assert!(!shown.contains("secret"), "{shown}");
    }
}
