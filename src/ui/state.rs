//! What the page shows, and how each event changes it.

use serde::Serialize;

/// Which compute backend the page runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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

/// The result shown for the current image.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Shown {
    pub image: String,
    pub probability: f32,
    /// Dice against the image's true mask, when it has one.
    pub dice: Option<f64>,
    pub method: String,
    pub threshold: String,
    /// Milliseconds from page start to this result.
    pub millis: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PageState {
    pub backend: Option<Backend>,
    /// Why the page is not on WebGPU, when it is not.
    pub backend_note: Option<String>,
    pub model: Option<String>,
    pub status: String,
    pub shown: Option<Shown>,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    BackendChosen { backend: Backend, note: Option<String> },
    ModelLoaded(String),
    Working(String),
    Analysed(Shown),
    Failed(String),
}

impl PageState {
    /// The pure update: the new state after `action`.
    pub fn reduce(mut self, action: Action) -> PageState {
        match action {
            Action::BackendChosen { backend, note } => {
                self.backend = Some(backend);
                self.backend_note = note;
            }
            Action::ModelLoaded(name) => {
                self.model = Some(name);
                self.error = None;
            }
            Action::Working(status) => self.status = status,
            Action::Analysed(shown) => {
                self.status = format!("{} analysed in {:.0} ms from page start", shown.image, shown.millis);
                self.shown = Some(shown);
                self.error = None;
            }
            Action::Failed(message) => {
                self.status = "stopped: see the error below".into();
                self.error = Some(message);
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_clears_an_earlier_error_and_a_failure_keeps_the_result() {
        let shown = Shown { image: "a.png".into(), probability: 0.9, dice: Some(0.5), method: "gradcam".into(), threshold: "0.5".into(), millis: 12.0 };
        let s = PageState::default()
            .reduce(Action::BackendChosen { backend: Backend::Cpu, note: Some("no adapter".into()) })
            .reduce(Action::Failed("bad file".into()))
            .reduce(Action::Analysed(shown.clone()));
        assert_eq!(s.backend, Some(Backend::Cpu));
        assert_eq!(s.error, None);
        assert!(s.status.contains("a.png"));
        let s = s.reduce(Action::Failed("lost device".into()));
        assert_eq!(s.shown, Some(shown));
        assert_eq!(s.error.as_deref(), Some("lost device"));
    }
}
