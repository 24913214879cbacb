/** What a CLI command may touch of the outside world; tests substitute their own. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdin: NodeJS.ReadableStream;
}

export function processIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    stdin: process.stdin,
  };
}

/** A subcommand: arguments after its name, returns the process exit code. */
export type Command = (args: string[], io: CliIo) => Promise<number>;
