//! [`Backend`]: which database a URL names.

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend and the connection string its driver takes.
    ///
    /// `postgres://` and `postgresql://` name PostgreSQL; `sqlite://PATH`,
    /// `sqlite:PATH` and anything else name a SQLite file.
    pub fn from_url(url: &str) -> (Self, &str) {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Self::Postgres, url)
        } else if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            (Self::Sqlite, path)
        } else {
            (Self::Sqlite, url)
        }
    }

    /// The OpenTelemetry `db.system.name` of the backend.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgresql",
        }
    }
}
