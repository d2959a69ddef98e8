// The one catalogue of diagnostic codes. Every diagnostic nnc emits is named here; codes are stable and
// never reused (a test rejects duplicates). Ranges:
//   NN0xxx  command line and files          NN1xxx  lexing and parsing
//   NN2xxx  names and resolution            NN3xxx  types, shapes and sizes
//   NN4xxx  layer arguments and options     NN5xxx  parameters, ties, counts, assertions
//   NN6xxx  imports                         NN7xxx  weight files and checkpoints (`nnc verify`)
//   NN9xxx  code generation
/** How bad a diagnostic is (defined here, with the catalogue that assigns it; diagnostic.ts re-exports it). */
export type Severity = "error" | "warning" | "note";

export interface CatalogueEntry {
  readonly code: string;
  readonly severity: Severity;
  /** One line for the documentation: when this diagnostic is reported. */
  readonly summary: string;
}

function e(code: string, summary: string, severity: Severity = "error"): CatalogueEntry {
  return { code, severity, summary };
}

export const catalogue = {
  // NN0xxx — command line and files
  UsageError: e("NN0001", "the command line is not understood"),
  FileNotReadable: e("NN0002", "an input file cannot be read"),
  WriteFailed: e("NN0003", "an output file cannot be written"),
  NotCanonical: e("NN0004", "`nnc fmt --check`: a file is not in canonical form"),
  InvalidUtf8: e("NN0005", "an input file is not valid UTF-8"),
  TooManyDiagnostics: e("NN0006", "more diagnostics were found than are shown", "note"),
  FormatterFault: e("NN0007", "the formatter could not print a file faithfully (a bug in nnc: please report it)"),
  NoModelToBuild: e("NN0008", "an input of `nnc build` defines no model, so nothing is built from it", "warning"),
  NothingToBuild: e("NN0009", "`nnc build` found no model to build in any of its inputs"),
  NoSuchModel: e(
    "NN0010",
    "`--model` names no model of the file, or the file defines no model to count, verify or compile",
  ),

  // NN1xxx — lexing and parsing
  UnexpectedCharacter: e("NN1001", "a character that starts no token"),
  UnexpectedToken: e("NN1002", "the parser met a token it did not expect"),
  MalformedNumber: e("NN1003", "a number with misplaced `_` separators or a bad exponent"),
  UnterminatedString: e("NN1004", "a string literal without its closing quote"),
  NestingTooDeep: e("NN1005", "brackets nested deeper than the parser allows"),
  FileTooLarge: e("NN1006", "a file with more tokens than the parser accepts"),
  UnclosedBracket: e("NN1007", "an opening bracket without its closing one"),
  UnmatchedBracket: e("NN1008", "a closing bracket without its opening one"),
  InvalidStringEscape: e("NN1009", 'a string with an escape other than `\\"` or `\\\\`'),

  // NN2xxx — names and resolution
  DuplicateDefinition: e("NN2001", "a name defined twice in one file or scope"),
  UnknownName: e("NN2002", "a name that refers to nothing: no constant, parameter or value"),
  ConstCycle: e("NN2003", "constants defined in terms of each other"),
  UnknownLayer: e("NN2004", "a call to something that is neither a layer kind nor a block"),
  UnknownValue: e("NN2005", "a value name that is not bound"),
  ValueShadowsLayer: e("NN2006", "a value name that reuses the name of a layer kind or block"),
  RecursiveBlock: e("NN2007", "a block that calls itself, directly or through other blocks"),
  DuplicateLayerName: e("NN2008", "two layers with the same `as` name in one scope"),
  UnusedValue: e(
    "NN2009",
    "a named value (or an input of a block with several) that holds parameters and is never used: its parameters are still counted",
    "warning",
  ),
  ReservedName: e("NN2010", "a name that is a reserved word of the language"),

  // NN3xxx — types, shapes and sizes
  UnknownDtype: e("NN3001", "an input type other than f32, f64 or token"),
  InexactDivision: e("NN3002", "`/` on integers that do not divide exactly"),
  DivisionByZero: e("NN3003", "division or remainder by zero"),
  NotAnInteger: e("NN3004", "a size or count that is not an integer"),
  NonPositiveSize: e("NN3005", "a size that is zero or negative"),
  SizeOverflow: e("NN3006", "a size or count beyond what nnc can represent"),
  TokenNeedsVocabulary: e("NN3007", "a `token` input without `of <vocabulary>`, or a float input with one"),
  BadSymbolicDim: e("NN3008", "a symbolic dimension that is malformed or not bounded"),
  ShapeMismatch: e("NN3009", "two values combined with different shapes"),
  WrongRank: e("NN3010", "a layer given a value with the wrong number of axes"),
  SizeBelowOne: e("NN3011", "an output size that drops below 1"),
  NotDivisible: e("NN3012", "a size that must divide another and does not"),
  AxisOutOfRange: e("NN3013", "an axis beyond the value's number of axes"),
  SequenceTooLong: e("NN3014", "a sequence longer than a layer's declared maximum"),
  TooManyParts: e("NN3015", "a `split` into more parts than nnc allows (4,096)"),
  WrongDtype: e("NN3016", "a layer given token ids where it needs float features, or floats where it needs token ids"),
  SequenceAsChannels: e("NN3017", "a sequence (or token-position) axis where a layer reads channels or features"),
  DimensionAboveMaximum: e(
    "NN3018",
    "`nnc count --length` or `--dim` sets a symbolic dimension above the maximum its input declares",
  ),

  // NN4xxx — layer arguments and options
  UnknownOption: e("NN4001", "an option the layer kind or block does not have"),
  WrongOptionType: e("NN4002", "an option value of the wrong type"),
  MissingArgument: e("NN4003", "a required argument left out"),
  DuplicateOption: e("NN4004", "an option given twice"),
  TooManyArguments: e("NN4005", "more positional arguments than the layer or block takes"),
  PositionalAfterNamed: e("NN4006", "a positional argument after a named one"),
  BadEnumValue: e("NN4007", "an option value that is not one of the allowed names"),
  UnexpectedBody: e("NN4008", "a `{ … }` body on a layer that takes none"),
  MissingBody: e("NN4009", "a container layer (residual, moe) without its `{ … }` body"),
  BadExpectQuantity: e("NN4010", "an `expect` on a quantity nnc does not know"),
  MisplacedStatement: e("NN4011", "a statement where it is not allowed (input in a model, loss in a block, …)"),
  BadValueUse: e("NN4012", "a value used where a number is expected, or a number where a value is expected"),
  DuplicateLoss: e("NN4013", "more than one `loss` in a model"),
  UnknownLoss: e("NN4014", "a loss that is not mse, cross_entropy or binary_cross_entropy"),
  BadParameterDefault: e("NN4015", "a block parameter without default after one with a default"),
  OptionOutOfRange: e(
    "NN4016",
    "a numeric option outside its valid range (`eps > 0`, dropout `p` in [0, 1)), or not finite",
  ),
  TooFewValues: e("NN4017", "a layer that combines values given fewer than it needs (`concat` of one value)"),
  BlockArity: e("NN4018", "a block given a different number of values than it takes inputs"),

  // NN5xxx — parameters, ties, counts, assertions
  ExpectFailed: e("NN5001", "an `expect` assertion that does not hold"),
  TieTargetUnknown: e("NN5002", "a tie to a layer that does not exist or has no weight"),
  TieShapeMismatch: e("NN5003", "a tie between tensors of different shapes"),
  BudgetExceeded: e("NN5004", "a count above `--max-params` or `--max-bytes`"),

  // NN6xxx — imports
  ImportNotFound: e(
    "NN6001",
    "an imported file that does not exist or cannot be read (not a regular file, too large, no permission)",
  ),
  ImportCycle: e("NN6002", "files that import each other"),
  ImportNameNotFound: e("NN6003", "an imported name the file does not define"),
  ImportClash: e("NN6004", "an imported name that clashes with a local or another imported one"),
  ImportFromStdin: e("NN6005", "a relative import in a spec read from standard input"),
  ImportOutsideRoot: e("NN6006", "an import outside the directory given with `--root`"),

  // NN7xxx — weight files and checkpoints (`nnc verify`, safetensors)
  BadWeightFile: e(
    "NN7001",
    "a weight file that is not valid safetensors: its header, offsets or sizes (names the tensor)",
  ),
  MissingTensor: e("NN7002", "a tensor of the model that the checkpoint does not hold"),
  UnexpectedTensor: e("NN7003", "a tensor of the checkpoint that the model does not have"),
  TensorShapeMismatch: e(
    "NN7004",
    "a checkpoint tensor whose shape differs from the model's (transposed, or another shape)",
  ),
  TensorDtypeMismatch: e(
    "NN7005",
    "a checkpoint tensor of a dtype that cannot hold it (an integer weight, a float batch counter)",
  ),
  NonFiniteWeights: e("NN7006", "a checkpoint tensor holding NaN or infinite values"),
  TiedCopiesDiffer: e("NN7007", "a tied tensor stored twice with different values"),
  CheckpointPrefix: e("NN7008", "checkpoint names that carry a prefix the model's names do not (`net.fc1.weight`)"),
  BatchCounterMissing: e(
    "NN7009",
    "a BatchNorm `num_batches_tracked` absent from the checkpoint (PyTorch fills in 0)",
    "note",
  ),
  PrefixUnused: e("NN7010", "a `--prefix` that starts no tensor name of the checkpoint", "warning"),

  // NN9xxx — code generation
  UnsupportedInCodegen: e("NN9001", "a layer kind the code generator cannot emit yet"),
  InexactSize: e("NN9002", "a size past 2^53 − 1, which the generated code cannot hold exactly as a JavaScript number"),
  BuildTooLarge: e(
    "NN9003",
    "a model that expands to more operations, values or generated source than code generation allows",
  ),
  ModuleTooLarge: e(
    "NN9004",
    "a model whose module would allocate more memory at batch 1 than code generation allows (1 TiB)",
  ),
  BakeWeightsMismatch: e(
    "NN9005",
    "weights for `--bake-weights` that do not fit the model (names, shapes, finite values, ties)",
  ),
} as const satisfies Record<string, CatalogueEntry>;

export type DiagnosticName = keyof typeof catalogue;

/** A code that is no longer reported: it keeps its number (never reused) and says what replaced it. */
export interface RetiredCode {
  readonly code: string;
  readonly name: string;
  /** What it used to mean. */
  readonly meant: string;
  /** The codes that now report those cases. */
  readonly replacedBy: readonly string[];
}

export const retired: readonly RetiredCode[] = [];
