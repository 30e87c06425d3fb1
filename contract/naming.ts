/** Names derived from the stage, shared by the stack, the sandbox and the docs. */

export const DEFAULT_STAGE = 'dev';

export const stackName = (stage: string): string => `PriorityDispatch-${stage}`;

/** The feature flag ops flip: value `true` or `false`. */
export const flagParameterName = (stage: string): string => `/priority-dispatch/${stage}/ENABLE_FAVORITES_PRIORITY`;

export const scheduleGroupName = (stage: string): string => `priority-dispatch-${stage}`;

/** A function's name: the stack names the asynchronous targets so (they refer to themselves); the sandbox names every function so. */
export const functionName = (stage: string, name: string): string => `priority-dispatch-${stage}-${name}`;

/** The CloudWatch dashboard of the business metrics and the alarms. */
export const dashboardName = (stage: string): string => `PriorityDispatch-${stage}`;
