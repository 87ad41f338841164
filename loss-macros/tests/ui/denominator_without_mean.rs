use loss_core::loss;

loss! {
    #[reduce(sum, denominator = w[y])]
    pub fn ce(#[grad] z: Vector<C>, y: Class<C>, w: Weights<C>) {
        w[y] * cross_entropy(z, y)
    }
}

fn main() {}
