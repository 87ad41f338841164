use loss_core::loss;

loss! {
    pub fn hinge(#[grad] x: PerSample, y: PerSample) {
        if x > y { x - y } else { 0.0 }
    }
}

fn main() {}
