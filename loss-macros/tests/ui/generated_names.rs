use loss_core::loss;

loss! {
    #[reduce(none)]
    pub fn weighted(#[grad] z: Vector<C>, losses: PerSample, upstream: PerSample) {
        sum(z) * losses * upstream
    }

    pub fn ignoring(#[grad] z: Vector<C>, #[ignore_index] y: Class<C>, y_ignore_index: PerSample) {
        cross_entropy(z, y) * y_ignore_index
    }

    pub fn private_name(#[grad] __z: Vector<C>) {
        sum(__z)
    }
}

fn main() {}
