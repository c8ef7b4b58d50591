//! Answers `__schema` and `__type` from a [`Schema`](crate::schema::model::Schema).
