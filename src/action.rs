//! The closed set of the page's controls: every `data-action` a template may carry is one `Action`,
//! parsed in one place. The browser layer reads the form values an action needs and turns it into
//! a `Msg`; a name no template should carry parses to nothing, so a typo in a template is caught by
//! the test that renders every template (`tests.rs` beside this file), not by a fallback arm.

use crate::cleanup::CleanupStep;

/// What a control asks for, named by its `data-action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    SandboxSignIn,
    TokenSignIn,
    PasswordSignIn,
    OtpSignIn,
    Remember,
    UseSandbox,
    SignOut,
    /// Sign out although the demo runs, once asked.
    SignOutConfirm,
    /// Keep the running demo: no sign-out after all.
    SignOutCancel,
    RefreshDevices,
    SelectDevice,
    SelectPlatform,
    ChooseNewProduct,
    ChooseExistingProduct,
    CreateProduct,
    SelectProduct,
    AddDevice,
    StartDemo,
    NewSmee,
    StopDemo,
    TestWebhook,
    PreviewData,
    PublishData,
    Replay,
    ApplyAnswer,
    AnswerPreset,
    SelectCycle,
    InspectorPause,
    ApplyForward,
    SlowMotion,
    Copy,
    ReplayEdited,
    Export,
    ShowFile,
    CopyFile,
    Flash,
    DeviceLog,
    SerialConnect,
    DownloadLog,
    RevealSecret,
    Cleanup,
    CleanupCancel,
    CleanupConfirm,
    /// A cleanup step's checkbox, `cleanup-<step>`.
    CleanupChoose(CleanupStep),
}

impl Action {
    /// Every action, each once.
    pub const ALL: [Action; 48] = [
        Action::SandboxSignIn,
        Action::TokenSignIn,
        Action::PasswordSignIn,
        Action::OtpSignIn,
        Action::Remember,
        Action::UseSandbox,
        Action::SignOut,
        Action::SignOutConfirm,
        Action::SignOutCancel,
        Action::RefreshDevices,
        Action::SelectDevice,
        Action::SelectPlatform,
        Action::ChooseNewProduct,
        Action::ChooseExistingProduct,
        Action::CreateProduct,
        Action::SelectProduct,
        Action::AddDevice,
        Action::StartDemo,
        Action::NewSmee,
        Action::StopDemo,
        Action::TestWebhook,
        Action::PreviewData,
        Action::PublishData,
        Action::Replay,
        Action::ApplyAnswer,
        Action::AnswerPreset,
        Action::SelectCycle,
        Action::InspectorPause,
        Action::ApplyForward,
        Action::SlowMotion,
        Action::Copy,
        Action::ReplayEdited,
        Action::Export,
        Action::ShowFile,
        Action::CopyFile,
        Action::Flash,
        Action::DeviceLog,
        Action::SerialConnect,
        Action::DownloadLog,
        Action::RevealSecret,
        Action::Cleanup,
        Action::CleanupCancel,
        Action::CleanupConfirm,
        Action::CleanupChoose(CleanupStep::Webhook),
        Action::CleanupChoose(CleanupStep::Integrations),
        Action::CleanupChoose(CleanupStep::Tinker),
        Action::CleanupChoose(CleanupStep::Devices),
        Action::CleanupChoose(CleanupStep::Product),
    ];

    /// The action an element with `data-action="<name>"` asks for; `None` for a name the page
    /// does not have.
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|action| action.name() == name)
    }

    /// The `data-action` that names it.
    pub fn name(self) -> &'static str {
        match self {
            Action::SandboxSignIn => "sandbox-sign-in",
            Action::TokenSignIn => "token-sign-in",
            Action::PasswordSignIn => "password-sign-in",
            Action::OtpSignIn => "otp-sign-in",
            Action::Remember => "remember",
            Action::UseSandbox => "use-sandbox",
            Action::SignOut => "sign-out",
            Action::SignOutConfirm => "sign-out-confirm",
            Action::SignOutCancel => "sign-out-cancel",
            Action::RefreshDevices => "refresh-devices",
            Action::SelectDevice => "select-device",
            Action::SelectPlatform => "select-platform",
            Action::ChooseNewProduct => "choose-new-product",
            Action::ChooseExistingProduct => "choose-existing-product",
            Action::CreateProduct => "create-product",
            Action::SelectProduct => "select-product",
            Action::AddDevice => "add-device",
            Action::StartDemo => "start-demo",
            Action::NewSmee => "new-smee",
            Action::StopDemo => "stop-demo",
            Action::TestWebhook => "test-webhook",
            Action::PreviewData => "preview-data",
            Action::PublishData => "publish-data",
            Action::Replay => "replay",
            Action::ApplyAnswer => "apply-answer",
            Action::AnswerPreset => "answer-preset",
            Action::SelectCycle => "select-cycle",
            Action::InspectorPause => "inspector-pause",
            Action::ApplyForward => "apply-forward",
            Action::SlowMotion => "slow-motion",
            Action::Copy => "copy",
            Action::ReplayEdited => "replay-edited",
            Action::Export => "export",
            Action::ShowFile => "show-file",
            Action::CopyFile => "copy-file",
            Action::Flash => "flash",
            Action::DeviceLog => "device-log",
            Action::SerialConnect => "serial-connect",
            Action::DownloadLog => "download-log",
            Action::RevealSecret => "reveal-secret",
            Action::Cleanup => "cleanup",
            Action::CleanupCancel => "cleanup-cancel",
            Action::CleanupConfirm => "cleanup-confirm",
            Action::CleanupChoose(step) => step.action(),
        }
    }
}

#[cfg(test)]
mod tests;
