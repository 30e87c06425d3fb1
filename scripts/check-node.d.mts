/** Types for check-node.mjs (plain JavaScript so that any Node can run it). */
export declare const MINIMUM_NODE_MAJOR: number;
export declare function nodeVersionProblem(version: string, execPath: string): string | undefined;
