//! Prometheus metrics (the `prometheus` crate): requests by endpoint, method and status, their
//! latency, and the connection pool, rendered as text for `/v1/metrics`.

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_size: IntGauge,
    pool_available: IntGauge,
    pool_waiting: IntGauge,
    pool_max: IntGauge,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("hasura_http_requests_total", "HTTP requests served, by endpoint, method and status"),
            &["endpoint", "method", "status"],
        )
        .expect("metric definition");
        let latency = HistogramVec::new(
            HistogramOpts::new("hasura_http_request_duration_seconds", "Time to answer an HTTP request, by endpoint")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["endpoint", "method"],
        )
        .expect("metric definition");
        let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("metric definition");
        let pool_size = gauge("hasura_postgres_connections", "Open database connections in the pool");
        let pool_available = gauge("hasura_postgres_connections_available", "Idle database connections in the pool");
        let pool_waiting = gauge("hasura_postgres_connections_waiting", "Requests waiting for a database connection");
        let pool_max = gauge("hasura_postgres_max_connections", "Size limit of the connection pool");
        registry.register(Box::new(requests.clone())).expect("register");
        registry.register(Box::new(latency.clone())).expect("register");
        for g in [&pool_size, &pool_available, &pool_waiting, &pool_max] {
            registry.register(Box::new(g.clone())).expect("register");
        }
        Metrics { registry, requests, latency, pool_size, pool_available, pool_waiting, pool_max }
    }

    pub fn observe(&self, endpoint: &str, method: &str, status: u16, seconds: f64) {
        self.requests.with_label_values(&[endpoint, method, &status.to_string()]).inc();
        self.latency.with_label_values(&[endpoint, method]).observe(seconds);
    }

    pub fn render(&self, pool: &deadpool_postgres::Status) -> String {
        self.pool_size.set(pool.size as i64);
        self.pool_available.set(pool.available as i64);
        self.pool_waiting.set(pool.waiting as i64);
        self.pool_max.set(pool.max_size as i64);
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out).expect("text encoding");
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_renders() {
        let m = Metrics::new();
        m.observe("/v1/graphql", "POST", 200, 0.003);
        m.observe("/v1/graphql", "POST", 200, 0.2);
        let text = m.render(&deadpool_postgres::Status { max_size: 10, size: 2, available: 1, waiting: 0 });
        assert!(text.contains(r#"hasura_http_requests_total{endpoint="/v1/graphql",method="POST",status="200"} 2"#), "{text}");
        assert!(text.contains(r#"hasura_http_request_duration_seconds_bucket{endpoint="/v1/graphql",method="POST",le="0.005"} 1"#), "{text}");
        assert!(text.contains("hasura_postgres_max_connections 10"), "{text}");
    }
}
