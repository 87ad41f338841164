use loss_core::loss;

loss! {
    #[reduce()]
    pub fn empty_reduce(#[grad] x: PerSample) {
        x * x
    }

    #[reduce(mean,)]
    pub fn trailing_comma(#[grad] x: PerSample) {
        x * x
    }

    pub fn twice(#[grad] #[grad] x: PerSample) {
        x * x
    }

    pub fn with_where(#[grad] x: PerSample) where f32: Copy {
        x * x
    }

    #[reduce("sum")]
    pub fn quoted(#[grad] x: PerSample) {
        x * x
    }
}

fn main() {}
