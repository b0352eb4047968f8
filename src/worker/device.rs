//! Which device the worker computes on, as [`decide`] says for what the page's probe of WebGPU
//! found (the page chose this build of the worker by the same decision). WebGPU runs inside
//! the worker (`navigator.gpu` exists in dedicated workers). On a hardware adapter nobody has
//! timed, both backends are timed on the first images ([`crate::session::Session::measure`])
//! and the faster kept; the page remembers the verdict per adapter.

use crate::protocol::{decide, Adapter, Backend, BackendChoice, Measured};
use burn::tensor::Device;

/// What the worker starts on: the device, which backend it is, why (when that needs saying),
/// and the adapter on which both backends are to be timed, when they are.
pub struct Pick {
    pub device: Device,
    pub backend: Backend,
    pub note: Option<String>,
    pub measure: Option<String>,
}

fn cpu(why: String) -> Pick {
    Pick { device: Device::flex(), backend: Backend::Cpu, note: Some(why), measure: None }
}

/// The build without WebGPU: the page starts it only where the decision is the CPU.
#[cfg(not(feature = "wgpu"))]
async fn webgpu(_note: Option<String>, _measure: Option<String>) -> Pick {
    cpu("this build of the worker has no WebGPU".into())
}

#[cfg(feature = "wgpu")]
async fn webgpu(note: Option<String>, measure: Option<String>) -> Pick {
    match Device::wgpu_options().init_async().await {
        Ok(device) => Pick { device, backend: Backend::WebGpu, note, measure },
        // A failed init must not be retried or used: remember the CPU choice.
        Err(e) => {
            web_sys::console::warn_1(&format!("WebGPU init failed: {e}").into());
            cpu("no WebGPU adapter found".into())
        }
    }
}

/// The device for `choice` on `adapter`.
pub async fn pick(choice: BackendChoice, adapter: &Adapter, known: &[Measured]) -> Pick {
    let decision = decide(choice, adapter, known);
    let note = decision.why.text();
    match decision.backend {
        Backend::Cpu => cpu(note.unwrap_or_default()),
        Backend::WebGpu => webgpu(note, decision.measure).await,
    }
}
