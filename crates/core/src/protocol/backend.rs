//! Which backend the worker computes on, and so which build of the worker the page starts.
//! The page probes WebGPU on its own thread ([`Adapter`]) before it starts its main worker:
//! where the answer is the CPU (no WebGPU, a software adapter, an earlier measurement that the
//! CPU won, `?backend=cpu`), it starts the build without WebGPU, a third of the size, so the
//! first heatmap waits on less wasm. Both sides decide with [`decide`], so they agree.

use serde::{Deserialize, Serialize};

/// Which compute backend the worker runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Backend {
    WebGpu,
    Cpu,
}

impl Backend {
    pub fn label(self) -> &'static str {
        match self {
            Backend::WebGpu => "WebGPU",
            Backend::Cpu => "CPU",
        }
    }
}

/// The backend the person asked for in the address (`?backend=cpu|webgpu|measure`), or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackendChoice {
    /// What an earlier measurement on this adapter chose; else, on a hardware adapter, a new
    /// measurement; the CPU on a software adapter or none.
    Auto,
    Cpu,
    WebGpu,
    /// Time both backends on the first images, whatever the adapter, and keep the faster.
    Measure,
}

impl BackendChoice {
    /// From the page's query string, e.g. `?backend=webgpu`.
    pub fn from_query(query: &str) -> Self {
        let query = query.trim_start_matches('?');
        match query.split('&').find_map(|kv| kv.strip_prefix("backend=")) {
            Some("cpu") => BackendChoice::Cpu,
            Some("webgpu") => BackendChoice::WebGpu,
            Some("measure") => BackendChoice::Measure,
            _ => BackendChoice::Auto,
        }
    }
}

/// Both backends timed on the same images (after one that warms both up) on one GPU adapter:
/// the page keeps it, so the next visit on that adapter starts on the faster one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    /// The adapter as the browser describes it (vendor, architecture, device, description).
    pub adapter: String,
    /// Milliseconds per image, heatmap and probability read back to the worker.
    pub webgpu_ms: f64,
    pub cpu_ms: f64,
    pub images: usize,
}

impl Measured {
    /// The faster backend; a tie keeps the CPU, which needs no GPU.
    pub fn faster(&self) -> Backend {
        if self.webgpu_ms < self.cpu_ms {
            Backend::WebGpu
        } else {
            Backend::Cpu
        }
    }

    pub fn note(&self) -> String {
        format!(
            "measured on {}: WebGPU {:.1} ms, CPU {:.1} ms per image over {} images; {} is faster",
            if self.adapter.is_empty() { "this GPU" } else { &self.adapter },
            self.webgpu_ms,
            self.cpu_ms,
            self.images,
            self.faster().label()
        )
    }
}

/// What `navigator.gpu.requestAdapter()` gave the page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Adapter {
    /// Not asked: the address chose the CPU, or this is a helper worker (always the CPU).
    NotProbed,
    /// The browser has no WebGPU.
    NoWebGpu,
    /// WebGPU, but no adapter (or the request failed).
    NoAdapter,
    /// An adapter: its name as the browser describes it (vendor, architecture, device,
    /// description), its architecture, and whether it is a software renderer.
    Found { name: String, architecture: String, software: bool },
}

impl Adapter {
    /// From the adapter's `info` fields and its fallback flag.
    pub fn from_info(vendor: &str, architecture: &str, device: &str, description: &str, fallback: bool) -> Adapter {
        let name = [vendor, architecture, device, description].into_iter().filter(|f| !f.is_empty()).collect::<Vec<_>>().join(" ");
        let software = fallback || architecture.to_ascii_lowercase().contains("swiftshader");
        Adapter::Found { name, architecture: architecture.to_string(), software }
    }
}

/// Why the worker computes where it does. Data, worded by [`Why::text`] where it is shown (the
/// page itself only needs [`Decision::needs_webgpu`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Why {
    /// `?backend=cpu`.
    Address,
    /// `?backend=webgpu`: nothing to say.
    Forced,
    NotProbed,
    NoWebGpu,
    NoAdapter,
    Software { architecture: String },
    Remembered(Measured),
    /// A new hardware adapter (or `?backend=measure`): both are timed.
    Timing,
}

impl Why {
    pub fn text(&self) -> Option<String> {
        Some(match self {
            Why::Address => "CPU chosen in the address (?backend=cpu)".into(),
            Why::Forced => return None,
            Why::NotProbed => "the CPU (no WebGPU asked for)".into(),
            Why::NoWebGpu => "this browser has no WebGPU".into(),
            Why::NoAdapter => "no WebGPU adapter found".into(),
            Why::Software { architecture } => format!(
                "the WebGPU adapter is a software renderer{}, slower than the CPU for this network; add ?backend=webgpu to the address to use it anyway, or ?backend=measure to time both",
                if architecture.is_empty() { String::new() } else { format!(" ({architecture})") }
            ),
            Why::Remembered(m) => format!("remembered from an earlier visit, {}", m.note()),
            Why::Timing => "timing WebGPU against the CPU on the first images".into(),
        })
    }
}

/// Where the worker computes, why, and the adapter on which both backends are to be timed on
/// the first images, when they are.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub backend: Backend,
    pub why: Why,
    pub measure: Option<String>,
}

impl Decision {
    /// Whether the worker needs its WebGPU build.
    pub fn needs_webgpu(&self) -> bool {
        self.backend == Backend::WebGpu
    }
}

/// The backend for `choice` on `adapter`. Unforced, an adapter measured on an earlier visit
/// (`known`) gets the faster backend of that measurement; a new hardware adapter is measured;
/// a software one gets the CPU.
pub fn decide(choice: BackendChoice, adapter: &Adapter, known: &[Measured]) -> Decision {
    let cpu = |why| Decision { backend: Backend::Cpu, why, measure: None };
    if choice == BackendChoice::Cpu {
        return cpu(Why::Address);
    }
    let (name, architecture, software) = match adapter {
        Adapter::NotProbed => return cpu(Why::NotProbed),
        Adapter::NoWebGpu => return cpu(Why::NoWebGpu),
        Adapter::NoAdapter => return cpu(Why::NoAdapter),
        Adapter::Found { name, architecture, software } => (name, architecture, *software),
    };
    match choice {
        BackendChoice::WebGpu => return Decision { backend: Backend::WebGpu, why: Why::Forced, measure: None },
        BackendChoice::Auto => {
            if let Some(m) = known.iter().find(|m| &m.adapter == name) {
                return Decision { backend: m.faster(), why: Why::Remembered(m.clone()), measure: None };
            }
            if software {
                return cpu(Why::Software { architecture: architecture.clone() });
            }
        }
        BackendChoice::Measure | BackendChoice::Cpu => {}
    }
    Decision { backend: Backend::WebGpu, why: Why::Timing, measure: Some(name.clone()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_picks_the_backend() {
        assert_eq!(BackendChoice::from_query(""), BackendChoice::Auto);
        assert_eq!(BackendChoice::from_query("?backend=cpu"), BackendChoice::Cpu);
        assert_eq!(BackendChoice::from_query("?x=1&backend=webgpu"), BackendChoice::WebGpu);
        assert_eq!(BackendChoice::from_query("?backend=tpu"), BackendChoice::Auto);
        assert_eq!(BackendChoice::from_query("?backend=measure&workers=2"), BackendChoice::Measure);
    }

    #[test]
    fn a_measurement_keeps_the_faster_backend_and_says_both_figures() {
        let m = |webgpu_ms, cpu_ms| Measured { adapter: "nvidia ampere".into(), webgpu_ms, cpu_ms, images: 3 };
        assert_eq!(m(9.0, 21.0).faster(), Backend::WebGpu);
        assert_eq!(m(35.0, 21.0).faster(), Backend::Cpu);
        assert_eq!(m(21.0, 21.0).faster(), Backend::Cpu, "a tie keeps the CPU");
        let note = m(35.0, 21.4).note();
        assert!(note.contains("WebGPU 35.0 ms") && note.contains("CPU 21.4 ms") && note.contains("nvidia ampere") && note.ends_with("CPU is faster"), "{note}");
    }

    #[test]
    fn the_cpu_build_serves_wherever_webgpu_would_not_be_used() {
        let swiftshader = Adapter::from_info("google", "swiftshader", "", "", true);
        assert_eq!(swiftshader, Adapter::Found { name: "google swiftshader".into(), architecture: "swiftshader".into(), software: true });
        let gpu = Adapter::from_info("nvidia", "ampere", "", "", false);
        assert_eq!(gpu, Adapter::Found { name: "nvidia ampere".into(), architecture: "ampere".into(), software: false });
        let measured = |webgpu_ms| vec![Measured { adapter: "nvidia ampere".into(), webgpu_ms, cpu_ms: 21.0, images: 3 }];
        let auto = |adapter: &Adapter, known: &[Measured]| decide(BackendChoice::Auto, adapter, known);

        for (adapter, why) in [(&Adapter::NotProbed, "no WebGPU asked"), (&Adapter::NoWebGpu, "no WebGPU"), (&Adapter::NoAdapter, "no WebGPU adapter"), (&swiftshader, "software renderer (swiftshader)")] {
            let d = auto(adapter, &[]);
            assert!(!d.needs_webgpu(), "{adapter:?}");
            assert!(d.why.text().unwrap().contains(why), "{d:?}");
        }
        assert_eq!(auto(&gpu, &[]), Decision { backend: Backend::WebGpu, why: Why::Timing, measure: Some("nvidia ampere".into()) });
        let remembered = auto(&gpu, &measured(35.0));
        assert!(!remembered.needs_webgpu() && remembered.why.text().unwrap().starts_with("remembered"), "the CPU won on this adapter before");
        assert_eq!(auto(&gpu, &measured(9.0)).measure, None);
        assert!(auto(&gpu, &measured(9.0)).needs_webgpu());
        assert!(auto(&Adapter::from_info("amd", "rdna", "", "", false), &measured(35.0)).measure.is_some(), "another adapter is measured afresh");

        // The address overrides, where it can.
        assert!(!decide(BackendChoice::Cpu, &gpu, &measured(9.0)).needs_webgpu());
        assert_eq!(decide(BackendChoice::WebGpu, &swiftshader, &[]).why.text(), None);
        assert!(decide(BackendChoice::WebGpu, &swiftshader, &[]).needs_webgpu());
        assert!(decide(BackendChoice::Measure, &swiftshader, &[]).measure.is_some());
        assert!(!decide(BackendChoice::WebGpu, &Adapter::NoWebGpu, &[]).needs_webgpu(), "no WebGPU to force");
    }
}
