//! The tutorial's panels: one Handlebars partial each (`templates/<name>.hbs`), one
//! `<section data-panel>` root each.

/// A panel of the tutorial, in page order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    SignIn,
    SelectDevice,
    SelectProduct,
    AddDevice,
    Start,
    Webhook,
    Test,
    Explainer,
    DataTable,
    Events,
    Firmware,
    Testing,
    Cleanup,
}

impl Panel {
    /// Every panel, in the order the page shows them.
    pub const ALL: [Panel; 13] = [
        Panel::SignIn,
        Panel::SelectDevice,
        Panel::SelectProduct,
        Panel::AddDevice,
        Panel::Start,
        Panel::Webhook,
        Panel::Test,
        Panel::Explainer,
        Panel::DataTable,
        Panel::Events,
        Panel::Firmware,
        Panel::Testing,
        Panel::Cleanup,
    ];

    /// The panel's name: its template file (`templates/<name>.hbs`) and its `data-panel` value.
    pub fn name(self) -> &'static str {
        match self {
            Panel::SignIn => "sign-in",
            Panel::SelectDevice => "select-device",
            Panel::SelectProduct => "select-product",
            Panel::AddDevice => "add-device",
            Panel::Start => "start",
            Panel::Webhook => "webhook",
            Panel::Test => "test",
            Panel::Explainer => "explainer",
            Panel::DataTable => "data-table",
            Panel::Events => "events",
            Panel::Firmware => "firmware",
            Panel::Testing => "testing",
            Panel::Cleanup => "cleanup",
        }
    }
}
