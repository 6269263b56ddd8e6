//! KMS key policies as the audit reads them: any text must parse or fail cleanly, and every statement query the
//! checks make must answer without panicking.
#![no_main]

use atrest::audit::policy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(statements) = policy::parse(text) {
        for s in &statements {
            let _ = s.grants("kms:Decrypt");
            let _ = s.grants("kms:PutKeyPolicy");
            let _ = s.restricted_by(&["aws:SourceAccount", "aws:SourceArn"]);
        }
    }
    let _ = policy::action_matches(text, "kms:Decrypt");
});
