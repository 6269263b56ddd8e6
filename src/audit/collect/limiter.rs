//! Holds every call to a service behind that service's semaphore, shared by all accounts and regions of a run, so
//! that a run of many accounts cannot throttle itself. A permit covers one operation with its retries and their
//! backoff, and one paginated listing page by page (its pages go one after another).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::audit::calls::ApiLimits;

#[derive(Clone, Debug)]
pub struct Limiter {
    permits: Arc<BTreeMap<&'static str, Arc<Semaphore>>>,
    limits: ApiLimits,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter::new(ApiLimits::default())
    }
}

impl Limiter {
    pub fn new(limits: ApiLimits) -> Self {
        let permits = limits
            .iter()
            .map(|(service, n)| (service, Arc::new(Semaphore::new(n.max(1)))))
            .collect();
        Limiter {
            permits: Arc::new(permits),
            limits,
        }
    }

    pub fn limits(&self) -> &ApiLimits {
        &self.limits
    }

    /// Runs `call` once `service` has a free permit. A service without a semaphore is not held back.
    pub async fn run<F: Future>(&self, service: &str, call: F) -> F::Output {
        let _permit = match self.permits.get(service) {
            Some(semaphore) => semaphore.acquire().await.ok(),
            None => None,
        };
        call.await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_the_limit_run_at_once() {
        let limiter = Limiter::new(ApiLimits::parse("kms=3").unwrap());
        let now = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let (limiter, now, peak) = (limiter.clone(), now.clone(), peak.clone());
            tasks.spawn(async move {
                limiter
                    .run("kms", async {
                        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(n, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        now.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
            });
        }
        while tasks.join_next().await.is_some() {}
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }
}
