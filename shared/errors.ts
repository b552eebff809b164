// Domain errors with stable names. Activities turn the permanent ones into non-retryable
// Temporal failures by name; the chat core maps each to a sentence with what to do next.
// Pure: workflows import this module.

export abstract class EnvbotError extends Error {
  /** Whether retrying the same request can succeed. */
  abstract readonly retryable: boolean;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A name (project, stage, environment, service) that envbot cannot use. */
export class InvalidNameError extends EnvbotError {
  readonly retryable = false;
}

export interface CatalogueProblem {
  /** Dotted path in the file, such as `projects.projb.services.service1.port`. */
  path: string;
  problem: string;
  line?: number;
}

/** envbot.yaml (or a seed or template it points to) is wrong: names the file, each path, and what is expected. */
export class CatalogueError extends EnvbotError {
  readonly retryable = false;
  constructor(
    readonly file: string,
    readonly problems: CatalogueProblem[],
  ) {
    super(
      problems
        .map((p) => `${file}${p.line ? `:${p.line}` : ''}: ${p.path ? `${p.path}: ` : ''}${p.problem}`)
        .join('\n'),
    );
  }
}

/** envbot's own settings (environment variables) are missing or wrong. */
export class SettingsError extends EnvbotError {
  readonly retryable = false;
}

export class NotFoundError extends EnvbotError {
  readonly retryable = false;
}

/** The request conflicts with what exists (an environment being built, for example). */
export class ConflictError extends EnvbotError {
  readonly retryable = false;
}

/** A finite resource is used up (Redis database indexes, for example). */
export class ResourceExhaustedError extends EnvbotError {
  readonly retryable = false;
}

export class ForbiddenError extends EnvbotError {
  readonly retryable = false;
}

/** What an operation needs is gone for good (a server removed from the catalogue, for example): retrying cannot help. */
export class GoneError extends EnvbotError {
  readonly retryable = false;
}

/** Names Temporal should never retry; used in every retry policy. */
export const NON_RETRYABLE_ERRORS = [
  'InvalidNameError',
  'CatalogueError',
  'SettingsError',
  'NotFoundError',
  'ConflictError',
  'ResourceExhaustedError',
  'ForbiddenError',
  'GoneError',
] as const;
