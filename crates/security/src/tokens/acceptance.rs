//! What Roster accepts of a presented token before any signature check or datalog
//! runs: its size, its number of blocks, the claims of its authority block (read as
//! facts, without evaluating anything), and the shape of every block a holder
//! appended. Everything here costs time linear in the token's size, which is capped
//! first, so whatever a client sends is refused or accepted in microseconds.

use biscuit_auth::{
    UnverifiedBiscuit,
    builder::{Binary, BlockBuilder, Check, Expression, Op, Rule, Term, Unary},
};
use roster_domain::ports::AuthenticationError;

/// The longest token accepted, in characters of its base64 form. An issued token is
/// about 400; this leaves room for a few attenuation blocks.
pub(crate) const MAX_TOKEN_CHARS: usize = 4096;

/// Blocks in a token: the authority block and at most seven appended ones.
pub(crate) const MAX_BLOCKS: usize = 8;

/// Brackets nested in a block's source: deeper ones are refused before the source
/// is parsed (the parser recurses once a level).
const MAX_NESTING: usize = 16;

/// Checks in one appended block, queries in one check, predicates in one query.
const MAX_CHECKS_PER_BLOCK: usize = 8;
const MAX_QUERIES_PER_CHECK: usize = 4;
const MAX_PREDICATES_PER_QUERY: usize = 4;

/// What an appended check may name: the request's facts and the token's user. Each has
/// exactly one fact, so no check can make datalog join anything large.
pub(crate) const ATTENUATION_PREDICATES: [&str; 5] =
    ["time", "operation", "resource", "owner", "user"];

/// The authority block's claims, as the token states them (not yet verified).
#[derive(Debug)]
pub(crate) struct Claims {
    pub(crate) user: String,
    pub(crate) role: String,
    pub(crate) token_id: String,
    pub(crate) issued_at: i64,
    pub(crate) expires_at: i64,
}

/// Parses the token without checking signatures, refusing at once what is too big
/// or has too many blocks.
pub(crate) fn parse(token: &str) -> Result<UnverifiedBiscuit, AuthenticationError> {
    if token.len() > MAX_TOKEN_CHARS {
        return Err(AuthenticationError::Malformed);
    }
    let token =
        UnverifiedBiscuit::from_base64(token).map_err(|_| AuthenticationError::Malformed)?;
    if token.block_count() > MAX_BLOCKS {
        return Err(AuthenticationError::Malformed);
    }
    Ok(token)
}

/// The claims of the authority block, read from its facts: exactly one of each.
pub(crate) fn claims(token: &UnverifiedBiscuit) -> Result<Claims, AuthenticationError> {
    let block = block(token, 0)?;
    let mut claims = (None, None, None, None, None);
    for fact in &block.facts {
        let predicate = &fact.predicate;
        let slot = match (predicate.name.as_str(), predicate.terms.as_slice()) {
            ("user", [Term::Str(v)]) => claims.0.replace(v.clone()).map(drop),
            ("role", [Term::Str(v)]) => claims.1.replace(v.clone()).map(drop),
            ("token_id", [Term::Str(v)]) => claims.2.replace(v.clone()).map(drop),
            ("issued_at", [Term::Integer(v)]) => claims.3.replace(*v).map(drop),
            ("expires_at", [Term::Integer(v)]) => claims.4.replace(*v).map(drop),
            _ => None,
        };
        if slot.is_some() {
            // A second fact of the same claim: ambiguous, so refused.
            return Err(AuthenticationError::Malformed);
        }
    }
    match claims {
        (Some(user), Some(role), Some(token_id), Some(issued_at), Some(expires_at)) => Ok(Claims {
            user,
            role,
            token_id,
            issued_at,
            expires_at,
        }),
        _ => Err(AuthenticationError::Malformed),
    }
}

/// Every appended block is first-party and holds checks only, over
/// [`ATTENUATION_PREDICATES`], with no facts, rules, scoped queries, regular
/// expressions, closures over sets or foreign functions: what attenuation needs and
/// nothing whose evaluation cost a holder could inflate. (A block-wide `trusting`
/// is not printed in a block's source and so not seen here; it is harmless, as no
/// appended block has facts to trust.)
pub(crate) fn appended_blocks_are_attenuations(
    token: &UnverifiedBiscuit,
) -> Result<(), AuthenticationError> {
    if token.external_public_keys().iter().any(Option::is_some) {
        return Err(AuthenticationError::Malformed);
    }
    for index in 1..token.block_count() {
        let block = block(token, index)?;
        let only_checks = block.facts.is_empty()
            && block.rules.is_empty()
            && block.scopes.is_empty()
            && block.checks.len() <= MAX_CHECKS_PER_BLOCK;
        if !only_checks || !block.checks.iter().all(is_bounded_check) {
            return Err(AuthenticationError::Malformed);
        }
    }
    Ok(())
}

fn block(token: &UnverifiedBiscuit, index: usize) -> Result<BlockBuilder, AuthenticationError> {
    let source = token
        .print_block_source(index)
        .map_err(|_| AuthenticationError::Malformed)?;
    if nesting(&source) > MAX_NESTING {
        return Err(AuthenticationError::Malformed);
    }
    BlockBuilder::new()
        .code(source)
        .map_err(|_| AuthenticationError::Malformed)
}

/// How deep brackets nest in `source` (counting those inside string literals too,
/// which only errs towards refusing).
fn nesting(source: &str) -> usize {
    let (mut depth, mut deepest) = (0_usize, 0_usize);
    for byte in source.bytes() {
        match byte {
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fn is_bounded_check(check: &Check) -> bool {
    check.queries.len() <= MAX_QUERIES_PER_CHECK && check.queries.iter().all(is_bounded_query)
}

fn is_bounded_query(query: &Rule) -> bool {
    query.scopes.is_empty()
        && query.body.len() <= MAX_PREDICATES_PER_QUERY
        && query
            .body
            .iter()
            .all(|p| ATTENUATION_PREDICATES.contains(&p.name.as_str()))
        && query.expressions.iter().all(is_bounded_expression)
}

fn is_bounded_expression(expression: &Expression) -> bool {
    expression.ops.iter().all(is_bounded_op)
}

/// Everything but regular expressions, `.all()`/`.any()` (closures over a set, which
/// nest into products) and foreign functions. Closures without parameters are the
/// lazy `&&`, `||` and `.try_or()`: each runs at most once.
fn is_bounded_op(op: &Op) -> bool {
    match op {
        Op::Unary(Unary::Ffi(_))
        | Op::Binary(Binary::Regex | Binary::All | Binary::Any | Binary::Ffi(_)) => false,
        Op::Closure(parameters, ops) => parameters.is_empty() && ops.iter().all(is_bounded_op),
        Op::Value(_) | Op::Unary(_) | Op::Binary(_) => true,
    }
}
