use loss_core::loss;

loss! {
    pub fn f(#[grad] x: PerSample) {
        if x > 0.0 { x } else 0.0
    }
}

fn main() {}
