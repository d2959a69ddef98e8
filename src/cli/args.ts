// Command-line arguments: each command declares its flags (name, value, help line), and one parser reads
// them with nnc's own wording for every mistake — an unknown flag (with "did you mean"), a flag without its
// value, a value that is not one of the choices or not a whole number, a value given to a switch. The same
// declarations print each command's help (`nnc count --help`, `nnc help count`). Node's `parseArgs` is not
// used: its messages would reach the user.
import { didYouMean } from "../diagnostics/suggest.js";

export interface Flag {
  /** The long name, without `--`. */
  readonly name: string;
  /** The name of the value in help (`N`, `DIR`); absent for a switch, which takes no value. */
  readonly value?: string;
  /** The values accepted, when there is a fixed list (the first is the default unless `fallback` says). */
  readonly choices?: readonly string[];
  /** What one of `choices` is called in "unknown format `yaml`". */
  readonly noun?: string;
  /** The value must be a whole number (`_` separators allowed). */
  readonly whole?: boolean;
  /** One line of help. */
  readonly help: string;
}

export interface Command {
  readonly name: string;
  /** The synopsis after `nnc <name>`, e.g. `<file> [flags]`; `\n` breaks a long one. */
  readonly synopsis: string;
  /** One line for the list of commands. */
  readonly summary: string;
  /** Paragraphs of help printed under the synopsis. */
  readonly details: readonly string[];
  readonly flags: readonly Flag[];
}

export class UsageError extends Error {
  constructor(
    message: string,
    readonly help?: string,
  ) {
    super(message);
  }
}

export interface Parsed {
  /** Flag values by name: the text of a flag with a value, `true` for a switch; the last one given wins. */
  readonly values: ReadonlyMap<string, string | true>;
  /** Every value of each flag with a value, in order (for flags that may be given more than once). */
  readonly all: ReadonlyMap<string, readonly string[]>;
  readonly positionals: readonly string[];
  /** `--help` or `-h` was given: the caller prints the command's help and does nothing else. */
  readonly help: boolean;
}

/** Reads `args` (the arguments after the command name) against the command's flags. Throws UsageError. */
export function parseCommandArgs(command: Command, args: readonly string[]): Parsed {
  const values = new Map<string, string | true>();
  const all = new Map<string, string[]>();
  const positionals: string[] = [];
  // `--help` wins over everything else on the line, mistakes included.
  const end = args.indexOf("--");
  if ((end === -1 ? args : args.slice(0, end)).some((a) => a === "--help" || a === "-h"))
    return { values, all, positionals, help: true };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg === "-" || !arg.startsWith("-")) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--")
      ? arg.slice(2, eq === -1 ? undefined : eq)
      : arg.slice(1, eq === -1 ? undefined : eq);
    const flag = arg.startsWith("--") ? command.flags.find((f) => f.name === name) : undefined;
    if (!flag) throw unknownFlag(command, arg.slice(0, eq === -1 ? undefined : eq));
    if (flag.value === undefined) {
      if (eq !== -1) throw new UsageError(`\`--${flag.name}\` takes no value`, `write \`--${flag.name}\` alone`);
      values.set(flag.name, true);
      continue;
    }
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      const next = args[i + 1];
      // A flag right after a flag that wants a value is a forgotten value, not the value.
      if (next === undefined || (next.startsWith("--") && next.length > 2)) {
        throw new UsageError(
          `\`--${flag.name}\` needs a value`,
          `write \`--${flag.name} ${flag.value}\`${choicesHint(flag)}`,
        );
      }
      value = next;
      i++;
    }
    values.set(flag.name, checkValue(flag, value));
    all.set(flag.name, [...(all.get(flag.name) ?? []), value]);
  }
  return { values, all, positionals, help: false };
}

function choicesHint(flag: Flag): string {
  return flag.choices
    ? `, where ${flag.value} is ${orList(flag.choices)}`
    : flag.whole
      ? `, where ${flag.value} is a whole number`
      : "";
}

function orList(items: readonly string[]): string {
  return items.length === 1 ? items[0]! : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

function checkValue(flag: Flag, value: string): string {
  if (value === "")
    throw new UsageError(
      `\`--${flag.name}\` needs a value, found an empty one`,
      `write \`--${flag.name} ${flag.value}\`${choicesHint(flag)}`,
    );
  if (flag.choices && !flag.choices.includes(value)) {
    const suggestion = didYouMean(value, flag.choices);
    throw new UsageError(
      `unknown ${flag.noun ?? flag.name} \`${value}\``,
      suggestion !== undefined
        ? `did you mean \`--${flag.name} ${suggestion}\`?`
        : `use --${flag.name} ${orList(flag.choices)}`,
    );
  }
  if (flag.whole && !/^\d+$/.test(value.replace(/_/g, ""))) {
    throw new UsageError(`\`--${flag.name}\` takes a whole number, found \`${value}\``);
  }
  return value;
}

function unknownFlag(command: Command, written: string): UsageError {
  const bare = written.replace(/^-+/, "");
  const suggestion = didYouMean(
    bare,
    command.flags.map((f) => f.name),
  );
  return new UsageError(
    `unknown flag \`${written}\` for \`nnc ${command.name}\``,
    suggestion !== undefined ? `did you mean \`--${suggestion}\`?` : `run \`nnc ${command.name} --help\` for its flags`,
  );
}

/** The text of `nnc <command> --help`. */
export function commandHelp(command: Command, version: string): string {
  const lead = `usage: nnc ${command.name} `;
  const synopsis = command.synopsis.split("\n").join(`\n${" ".repeat(lead.length)}`);
  const lines = [`nnc ${command.name} — ${command.summary}`, "", `${lead}${synopsis}`];
  for (const paragraph of command.details) lines.push("", ...paragraph.split("\n"));
  const rows = [
    ...command.flags.map((f) => [`--${f.name}${f.value ? ` ${f.value}` : ""}`, f.help] as const),
    ["-h, --help", "this text"] as const,
  ];
  const width = Math.max(...rows.map(([left]) => left.length));
  lines.push("", "flags:");
  for (const [left, text] of rows) lines.push(`  ${left.padEnd(width)}  ${text}`);
  lines.push("", `nnc ${version}`);
  return lines.join("\n") + "\n";
}
