//! Counts the SDK operations of a run: an interceptor on every client the audit builds reads the operation's
//! name and service from the config bag and changes nothing. One meter serves every account and region of a run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

use crate::audit::calls::CallStats;

#[derive(Debug, Default)]
struct State {
    calls: BTreeMap<String, u64>,
    attempts: u64,
    in_flight: BTreeMap<String, usize>,
    peak: BTreeMap<String, usize>,
}

/// Shared by clones: hand one clone to each client.
#[derive(Clone, Debug, Default)]
pub struct CallMeter {
    state: Arc<Mutex<State>>,
}

/// Left in an execution's config bag when it was counted, so that its end is matched exactly once.
#[derive(Clone, Debug)]
struct Counted(String);

impl Storable for Counted {
    type Storer = StoreReplace<Self>;
}

impl CallMeter {
    /// The counts so far.
    pub fn stats(&self) -> CallStats {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        CallStats {
            total: state.calls.values().sum(),
            calls: state.calls.clone(),
            attempts: state.attempts,
            peak_in_flight: state.peak.clone(),
            limits: BTreeMap::new(),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut state)
    }
}

impl Intercept for CallMeter {
    fn name(&self) -> &'static str {
        "atrest::CallMeter"
    }

    // Not `read_before_execution`: a client's interceptors run that hook before the operation's metadata is in
    // the bag. This one runs once per execution, after it.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(metadata) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        let service = metadata.service().to_ascii_lowercase();
        let operation = format!("{service}:{}", metadata.name());
        self.with(|state| {
            *state.calls.entry(operation).or_default() += 1;
            let now = state.in_flight.entry(service.clone()).or_default();
            *now += 1;
            let now = *now;
            let peak = state.peak.entry(service.clone()).or_default();
            *peak = (*peak).max(now);
        });
        cfg.interceptor_state().store_put(Counted(service));
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.with(|state| state.attempts += 1);
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Counted(service)) = cfg.load::<Counted>().cloned() {
            self.with(|state| {
                if let Some(now) = state.in_flight.get_mut(&service) {
                    *now = now.saturating_sub(1);
                }
            });
        }
        Ok(())
    }
}
