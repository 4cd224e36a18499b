//! Connection strings as they may be shown: in logs and in `config check`.

/// Hides the secrets of a connection string: a URL's password, whether in its user
/// information (`postgres://user:***@host/db`) or in a query parameter
/// (`?password=***`, `sslpassword`), and `password=` in a libpq keyword/value string
/// (`host=db password=***`).
pub fn redact_url(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        return text
            .split(' ')
            .map(|part| match part.split_once('=') {
                Some((key, _)) if is_secret(key) => format!("{key}=***"),
                _ => part.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" ");
    };
    let in_user_info = url.password().is_some();
    let in_query = url.query_pairs().any(|(key, _)| is_secret(&key));
    if !in_user_info && !in_query {
        return text.to_owned();
    }
    if in_user_info {
        let _ = url.set_password(Some("***"));
    }
    if in_query {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                let value = if is_secret(&key) { "***".into() } else { value };
                (key.into_owned(), value.into_owned())
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

fn is_secret(key: &str) -> bool {
    key.to_ascii_lowercase().contains("password")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_database_passwords_only() {
        assert_eq!(
            redact_url("postgres://roster:s3cret@db:5432/roster"),
            "postgres://roster:***@db:5432/roster"
        );
        assert_eq!(
            redact_url("postgres://roster@db/roster"),
            "postgres://roster@db/roster"
        );
        assert_eq!(
            redact_url("sqlite://data/roster.db"),
            "sqlite://data/roster.db"
        );
        assert_eq!(
            redact_url(
                "postgres://roster@db/roster?Password=s3cret&sslmode=require&sslpassword=k3y"
            ),
            "postgres://roster@db/roster?Password=***&sslmode=require&sslpassword=***"
        );
        assert_eq!(
            redact_url("host=db user=roster password=s3cret dbname=roster"),
            "host=db user=roster password=*** dbname=roster"
        );
    }
}
