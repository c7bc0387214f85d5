export interface ProblemSpec {
  status: number;
  title: string;
}

/** Every code of a feature's enum mapped to its HTTP status; a missing code fails to compile. */
export type ProblemCatalog<Code extends string> = Record<Code, ProblemSpec>;
