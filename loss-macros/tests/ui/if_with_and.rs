use loss_core::loss;

loss! {
    pub fn f(#[grad] x: PerSample, y: PerSample) {
        if x > 0.0 && y > 0.0 { x } else { y }
    }
}

fn main() {}
