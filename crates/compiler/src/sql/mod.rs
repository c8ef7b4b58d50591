//! SQL generation: the validated selection tree → ONE statement returning the whole response as
//! `json`, with every value bound as a `$n` text parameter cast to its column type. Aliases are
//! numbered deterministically, so the same query text always yields the same SQL (and reuses the
//! same cached plan). Each parameter is recorded with its source (see `request::input`).

mod extension_ops;
mod filter;
mod mutation;
mod params;
mod permission;
mod select;
mod stream;

pub use params::{array_literal, Params};
pub use mutation::{compile_mutation, compile_mutation_traced};
pub use select::{compile_operation, Generated};

use crate::schema::names::quote_literal;

/// `json_build_object` takes at most 100 arguments; wider objects are built in chunks whose
/// texts are spliced together, which keeps key order (a `jsonb` merge would not).
pub(crate) fn json_object(pairs: &[(String, String)]) -> String {
    json_object_chunked(pairs, false)
}

/// [`json_object`] for the root fields of an operation, each of which is a subquery. Each chunk
/// of them becomes its own `(SELECT json_build_object(…))`: PostgreSQL plans every
/// uncorrelated subquery as an initPlan of its query level, and planning one subquery scans
/// all the initPlans of the levels above it (`SS_identify_outer_params`, `is_parallel_safe`),
/// so n root fields at one level cost O(n²) planner memory and time (8,000 aliases: 2.6 GB,
/// 29 s). In chunks of 50, the scans are bounded by 50 + n/50: 8,000 aliases plan in 773 MB.
/// Only uncorrelated expressions may be passed (a chunk must not refer to an outer row).
pub(crate) fn json_object_root(pairs: &[(String, String)]) -> String {
    json_object_chunked(pairs, true)
}

fn json_object_chunked(pairs: &[(String, String)], subqueries: bool) -> String {
    const CHUNK: usize = 50;
    let build = |chunk: &[(String, String)]| {
        let mut s = String::from(if subqueries && pairs.len() > CHUNK { "(SELECT json_build_object(" } else { "json_build_object(" });
        for (i, (k, v)) in chunk.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(&quote_literal(k));
            s.push_str(", ");
            s.push_str(v);
        }
        s.push(')');
        if subqueries && pairs.len() > CHUNK {
            s.push(')');
        }
        s
    };
    if pairs.len() <= CHUNK {
        return build(pairs);
    }
    let parts: Vec<String> = pairs.chunks(CHUNK).map(build).collect();
    // '{"a":1}' and '{"b":2}' → '{"a":1, "b":2}': drop the closing/opening braces and join.
    let mut s = String::from("(");
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            s.push_str(" || ', ' || ");
        }
        let first = i == 0;
        let last = i == parts.len() - 1;
        let t = format!("({p})::text");
        let t = match (first, last) {
            (true, _) => format!("left({t}, -1)"),
            (false, true) => format!("substr({t}, 2)"),
            (false, false) => format!("substr(left({t}, -1), 2)"),
        };
        s.push_str(&t);
    }
    s.push_str(")::json");
    s
}

#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
mod extension_tests;
#[cfg(test)]
pub(crate) mod leak_tests;

#[cfg(test)]
mod mutation_tests;

#[cfg(test)]
mod stringify_tests;

#[cfg(test)]
mod chunk_tests {
    use super::*;

    #[test]
    fn wide_objects_are_chunked() {
        let pairs: Vec<(String, String)> = (0..120).map(|i| (format!("k{i}"), i.to_string())).collect();
        let sql = json_object(&pairs);
        assert!(sql.starts_with("(left((json_build_object("));
        assert_eq!(sql.matches("json_build_object(").count(), 3);
        let root = json_object_root(&pairs);
        assert!(root.starts_with("(left(((SELECT json_build_object("), "{root}");
        assert_eq!(root.matches("(SELECT json_build_object(").count(), 3);
        assert_eq!(root.matches('(').count(), root.matches(')').count());
        assert_eq!(json_object_root(&pairs[..3]), json_object(&pairs[..3]), "one chunk stays as it was");
    }
}

#[cfg(test)]
mod stream_tests;
