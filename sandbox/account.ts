/** The sandbox's one account and Region, in every ARN it makes (a leaf module: worker threads import it without the rest). */
export const SANDBOX_ACCOUNT = '000000000000';
export const SANDBOX_REGION = 'us-east-1';
