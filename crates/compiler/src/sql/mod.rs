//! SQL generation: IR → one statement returning the response JSON, values as `$n` parameters.
