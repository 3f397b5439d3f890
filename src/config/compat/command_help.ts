/**
 * The help of sidekick's subcommands (`check`, `l4`, `permissions`, `help`),
 * and the COMMANDS section of the main `--help`.
 *
 * @module
 */

/** The subcommands, in `--help` order, each with one line of help. */
export const COMMANDS: readonly (readonly [name: string, usage: string, help: string])[] = [
  [
    "check",
    "check [FILE]",
    "validate a config file and print it normalised (default sidekick.yaml)",
  ],
  ["l4", "l4 BIND [key=value...]", "TCP/UDP load balancing with SideLB's arguments"],
  ["permissions", "permissions ARGS...", "print the deno run permission flags that ARGS need"],
  ["help", "help [COMMAND]", "show this help, or a command's"],
];

const TEXTS: Record<string, string> = {
  check: `sidekick check - validate a config file and print it normalised

USAGE:
  sidekick check [FILE]

FILE is a YAML file in sidekick's or iaido's schema (default sidekick.yaml).
On success the configuration is printed with every default filled in, and
the exit code is 0. Otherwise every problem is printed as
FILE:LINE:COL: path: message, and the exit code is 2 (1 when the file
cannot be read).
`,
  l4: `sidekick l4 - TCP/UDP load balancing (SideLB grammar)

USAGE:
  sidekick l4 <bind_ip:port> [backends=ip:port,...] [mode=round-robin|least-connections]
              [proto=tcp|udp] [ring_domain=host:port] [health_socket=PATH|off]
  sidekick --health-check-uds [PATH]    ask the health socket; exit 0 only on HEALTHY

  The health socket (default /run/sidelb.sock) answers HEALTHY while an endpoint is up.

ENVIRONMENT:
  SIDELB_BIND_ADDR, SIDELB_BACKENDS, SIDELB_MODE, SIDELB_PROTO, SIDELB_RING_DOMAIN,
  SIDELB_HEALTH_SOCKET (arguments win)
`,
  permissions: `sidekick permissions - print the deno run permissions a command line needs

USAGE:
  sidekick permissions [FLAGS] SITE1 [SITE2..]
  sidekick permissions --config FILE
  sidekick permissions l4 <bind_ip:port> [key=value...]

Prints the --allow-* flags to run the same arguments with, then one line per
grant saying why it is needed. Nothing is started.
`,
  help: `sidekick help - show help

USAGE:
  sidekick help              the flags and commands
  sidekick help COMMAND      one command's help (check, l4, permissions)
`,
};

/**
 * The help text of a subcommand.
 *
 * @param name The subcommand.
 * @returns The text, or undefined for an unknown name.
 *
 * @example Usage
 * ```ts
 * import { commandHelp } from "./command_help.ts";
 * commandHelp("check")?.startsWith("sidekick check"); // true
 * ```
 */
export function commandHelp(name: string): string | undefined {
  return TEXTS[name]?.trimEnd();
}

/**
 * The COMMANDS section of the main `--help`.
 *
 * @returns The section, without a trailing newline.
 *
 * @example Usage
 * ```ts
 * import { commandsSection } from "./command_help.ts";
 * commandsSection().includes("permissions"); // true
 * ```
 */
export function commandsSection(): string {
  const rows = COMMANDS.map(([, usage, help]) => `  sidekick ${usage}`.padEnd(36) + help);
  return `COMMANDS:\n${rows.join("\n")}\n  (each takes --help)`;
}
