use loss_core::loss;

loss! {
    pub fn hinge(#[grad] x: PerSample, y: PerSample) {
        if x > y { x - y }
    }
}

fn main() {}
