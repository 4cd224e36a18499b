//! [`Instant`]: the one SQL type for UTC instants, so that the schema is declared once.
//! It is `TIMESTAMPTZ` on PostgreSQL and ISO-8601 text on SQLite, and every
//! conversion delegates to diesel's own for that backend: nothing here formats or
//! parses a timestamp.

use chrono::{DateTime, Utc};
use diesel::{
    AsExpression, SqlType,
    backend::Backend,
    deserialize::{self, FromSql},
    pg::Pg,
    query_builder::QueryId,
    serialize::{self, IsNull, Output, ToSql},
    sql_types::{HasSqlType, Timestamptz, TimestamptzSqlite},
    sqlite::Sqlite,
};

use crate::connection::MultiBackend;

/// A UTC instant column (`created_at`, `expires_at`, ...).
#[derive(Debug, Clone, Copy, Default, SqlType, QueryId)]
#[diesel(postgres_type(oid = 1184, array_oid = 1185))]
#[diesel(sqlite_type(name = "Text"))]
// Public: diesel's `table!` declares public columns, which must name a public type.
pub struct Instant;

/// A UTC instant on its way into the database: `users::created_at.eq(Stamp(at))`.
/// (Reading needs no wrapper: rows take `DateTime<Utc>` directly.)
#[derive(Debug, Clone, Copy, AsExpression)]
#[diesel(sql_type = Instant)]
pub(crate) struct Stamp(pub(crate) DateTime<Utc>);

impl HasSqlType<Instant> for MultiBackend {
    fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
        Self::lookup_sql_type::<Instant>(lookup)
    }
}

impl ToSql<Instant, Pg> for Stamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <DateTime<Utc> as ToSql<Timestamptz, Pg>>::to_sql(&self.0, out)
    }
}

impl ToSql<Instant, Sqlite> for Stamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        <DateTime<Utc> as ToSql<TimestamptzSqlite, Sqlite>>::to_sql(&self.0, out)
    }
}

impl ToSql<Instant, MultiBackend> for Stamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Instant, self));
        Ok(IsNull::No)
    }
}

impl FromSql<Instant, Pg> for DateTime<Utc> {
    fn from_sql(bytes: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <Self as FromSql<Timestamptz, Pg>>::from_sql(bytes)
    }
}

impl FromSql<Instant, Sqlite> for DateTime<Utc> {
    fn from_sql(bytes: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <Self as FromSql<TimestamptzSqlite, Sqlite>>::from_sql(bytes)
    }
}

impl FromSql<Instant, MultiBackend> for DateTime<Utc> {
    fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        bytes.from_sql::<Self, Instant>()
    }
}
