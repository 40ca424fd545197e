//! The sandbox's fixture as the browser checks meet it (DESIGN.md lists it): its users and its
//! devices' ids.

pub const P2: &str = "e00fce680000000000000001";
pub const BORON: &str = "e00fce680000000000000002";
pub const ARGON: &str = "e00fce680000000000000003";

/// The user "Try the sandbox" signs in as, and the one whose account has MFA (password `sandbox`,
/// one-time code `123456`).
pub const SANDBOX_USER: &str = "sandbox@example.com";
pub const MFA_USER: &str = "mfa@example.com";
