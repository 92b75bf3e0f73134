//! The detector an operator bound to an algorithm (a bring-your-own model package, see
//! `docs/algorithm-center.md`): which detector to ask the engine for and what each of its
//! classes means to the algorithm. The worker builds it from the installed package and hands it
//! to the analyzer in [`crate::AnalyzerContext::model`].

use vigil_core::model_package::RuleBinding;
use vigil_vision::DetectorModel;

#[derive(Debug, Clone, PartialEq)]
pub struct ModelBinding {
    /// `name@version` of the package (log lines and errors).
    pub package: String,
    /// The detector to ask for in `Needs` (usually `DetectorModel::Package`; tests may bind a
    /// built-in detector, e.g. COCO backpacks as piles).
    pub detector: DetectorModel,
    /// Model class id → the role the algorithm counts (`catalog::model_roles`), for a package
    /// bound to a built-in algorithm; class names of the model are resolved by the worker.
    pub class_roles: Vec<(u32, String)>,
    /// Class names in the model's order (payload `type` fields of generic rules).
    pub class_names: Vec<String>,
    /// The package's score threshold.
    pub min_score: f32,
    /// The generic rule of a package served under its own name (`None` for a built-in binding).
    pub rule: Option<RuleBinding>,
}

impl ModelBinding {
    /// The class ids bound to `role`.
    pub fn classes_of(&self, role: &str) -> Vec<u32> {
        self.class_roles
            .iter()
            .filter(|(_, r)| r == role)
            .map(|(c, _)| *c)
            .collect()
    }

    /// The role of class `class_id`, if bound.
    pub fn role_of(&self, class_id: u32) -> Option<&str> {
        self.class_roles
            .iter()
            .find(|(c, _)| *c == class_id)
            .map(|(_, r)| r.as_str())
    }
}

/// The binding a model-bound analyzer of `alg_id` runs on, or the `service_name` error that
/// names the roles it needs (no built-in model stands in for an operator's).
pub(crate) fn bound<'a>(
    ctx: &'a crate::registry::AnalyzerContext,
    alg_id: &str,
) -> Result<&'a ModelBinding, crate::validate::ConfigError> {
    ctx.model
        .as_ref()
        .ok_or_else(|| refuse(vigil_core::catalog::model_roles::missing_model_message(alg_id)))
}

/// The class ids bound to any of `roles`; an error naming them when none is.
pub(crate) fn classes_for(
    binding: &ModelBinding,
    alg_id: &str,
    roles: &[&str],
    param: &str,
) -> Result<Vec<u32>, crate::validate::ConfigError> {
    let classes: Vec<u32> = roles.iter().flat_map(|r| binding.classes_of(r)).collect();
    if classes.is_empty() {
        let mut e = refuse(format!(
            "{alg_id}: package {} maps no class to {}; see docs/algorithm-center.md",
            binding.package,
            roles.join(" or ")
        ));
        e.param = param.to_string();
        return Err(e);
    }
    Ok(classes)
}

fn refuse(message: String) -> crate::validate::ConfigError {
    crate::validate::ConfigError {
        param: "service_name".to_string(),
        message,
        kind: crate::validate::ConfigErrorKind::InvalidValue,
    }
}
