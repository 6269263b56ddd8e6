//! An interceptor that records one header of every request a client sends, with the time it was sent (the
//! `X-Amz-Target` to count KMS operations on the wire, the `Authorization` to see which credentials signed it).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Shared by clones: hand one to each client whose requests it should see.
#[derive(Debug, Clone)]
pub struct Sent {
    header: &'static str,
    log: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Sent {
    /// Records `header` (empty when a request lacks it).
    pub fn header(header: &'static str) -> Self {
        Sent {
            header,
            log: Arc::default(),
        }
    }

    /// Records `X-Amz-Target`; [`Self::count`] counts KMS operations by name.
    pub fn kms_operations() -> Self {
        Self::header("x-amz-target")
    }

    /// Requests of the KMS operation `operation` (e.g. `GenerateDataKey`) so far.
    pub fn count(&self, operation: &str) -> usize {
        let target = format!("TrentService.{operation}");
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, t)| *t == target)
            .count()
    }

    /// Requests so far.
    pub fn len(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    /// The latest request's send time and header.
    pub fn last(&self) -> Option<(Instant, String)> {
        self.log.lock().unwrap().last().cloned()
    }
}

impl Intercept for Sent {
    fn name(&self) -> &'static str {
        "tests::Sent"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let value = context.request().headers().get(self.header);
        let value = value.unwrap_or_default().to_owned();
        self.log.lock().unwrap().push((Instant::now(), value));
        Ok(())
    }
}
