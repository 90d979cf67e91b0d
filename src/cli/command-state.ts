/** Default configuration file, looked up in the working directory. */
export const DEFAULT_CONFIG_FILE = 'rampart.config.json';

/** Result that a command's action reports back to `main`. */
export interface CommandState {
  /** Exit code of the process; an action sets 1 for a failed check. */
  exitCode: number;
}
