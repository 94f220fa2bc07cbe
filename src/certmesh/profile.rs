//! Trust profiles (spec §4.3): the defaults they set. Profiles set the posture, not the
//! ceiling: every command works in every profile.

/// Who the network is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Just me.
    Personal,
    /// My team.
    Team,
    /// My organization.
    Organization,
}

impl Profile {
    /// Parses `personal|team|organization` (and the menu numbers 1, 2, 3).
    pub fn parse(s: &str) -> Result<Profile, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "personal" | "1" | "just me" => Ok(Profile::Personal),
            "team" | "2" | "my team" => Ok(Profile::Team),
            "organization" | "organisation" | "3" | "my organization" => Ok(Profile::Organization),
            other => Err(format!(
                "unknown profile `{other}`; use personal, team or organization"
            )),
        }
    }

    /// The roster spelling.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Personal => "personal",
            Profile::Team => "team",
            Profile::Organization => "organization",
        }
    }

    /// Joins wait for `approve` by default.
    pub fn approval_required(self) -> bool {
        self != Profile::Personal
    }

    /// Enrollment starts open.
    pub fn enrollment_open_by_default(self) -> bool {
        self != Profile::Organization
    }

    /// Auto-unlock is on by default (only for personal).
    pub fn auto_unlock_by_default(self) -> bool {
        self == Profile::Personal
    }

    /// The operator name must be given.
    pub fn operator_required(self) -> bool {
        self == Profile::Organization
    }

    /// Domain and subnet scope must be given.
    pub fn scope_required(self) -> bool {
        self == Profile::Organization
    }
}
