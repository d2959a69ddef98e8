// The one catalogue of diagnostic codes. Every diagnostic nnc emits is named here; codes are stable and
// never reused (a test rejects duplicates). Ranges:
//   NN0xxx  command line and files          NN1xxx  lexing and parsing
//   NN2xxx  names and resolution            NN3xxx  types, shapes and sizes
//   NN4xxx  layer arguments and options     NN5xxx  parameters, ties, counts, assertions
//   NN6xxx  imports                         NN7xxx  weight files and checkpoints (`nnc verify`)
//   NN9xxx  code generation
/** How bad a diagnostic is (defined here, with the catalogue that assigns it; diagnostic.ts re-exports it). */
export type Severity = "error" | "warning" | "note";

/** A message template, as in TypeScript's diagnosticMessages.json: `{name}` (letters, digits and `_`) is a
 *  placeholder that `diagnostic()` fills from the argument of that name; any other text, `{ … }` included, is
 *  literal. Placeholders carry what varies (names, numbers, a described value); the template keeps the rest. */
export type Template = string;

/** One template, or one per wording when a code words its cases differently (the same meaning: a name
 *  defined twice, as a constant, a parameter or a value), keyed by a short variant name. */
export type Templates = Template | Readonly<Record<string, Template>>;

export interface CatalogueEntry {
  readonly code: string;
  readonly severity: Severity;
  /** One line for the documentation: when this diagnostic is reported. */
  readonly summary: string;
  /** The message template(s): every call of `diagnostic()` gives their arguments, never a whole message. */
  readonly message: Templates;
}

/** An entry with its message template(s); the template's literal type is kept, so `diagnostic()` checks the
 *  placeholder names of every call. */
function t<const M extends Templates>(
  code: string,
  summary: string,
  message: M,
  severity: Severity = "error",
): Omit<CatalogueEntry, "message"> & { readonly message: M } {
  return { code, severity, summary, message };
}

export const catalogue = {
  // NN0xxx — command line and files
  UsageError: t("NN0001", "the command line is not understood", {
    usage: "{problem}",
    compileOptions: "invalid compile options: {problem}",
    severalModels: "{file} defines {count} models: {models}",
  }),
  FileNotReadable: t("NN0002", "an input file cannot be read", {
    read: "cannot read {file}: {reason}",
    bakeWeights: "cannot use {file} for --bake-weights: {reason}",
  }),
  WriteFailed: t("NN0003", "an output file cannot be written", {
    write: "cannot write {file}: {reason}",
    outputs: "{problem}",
  }),
  NotCanonical: t("NN0004", "`nnc fmt --check`: a file is not in canonical form", "{file} is not in canonical form"),
  InvalidUtf8: t("NN0005", "an input file is not valid UTF-8", {
    read: "cannot read {file}: {reason}",
    import: "cannot import `{path}`: {reason}",
  }),
  TooManyDiagnostics: t(
    "NN0006",
    "more diagnostics were found than are shown",
    {
      diagnostics: "{count} more diagnostic{s} not shown ({errors} error{errorsS})",
      lines: "{count} more line{s} with syntax errors in {file} not shown, from here on",
      errors: "{count} more errors in {file} not shown, from here on",
    },
    "note",
  ),
  FormatterFault: t(
    "NN0007",
    "the formatter could not print a file faithfully (a bug in nnc: please report it)",
    "nnc fmt could not print {file} faithfully: {why}",
  ),
  NoModelToBuild: t(
    "NN0008",
    "an input of `nnc build` defines no model, so nothing is built from it",
    "{file} defines no model: nothing is built from it",
    "warning",
  ),
  NothingToBuild: t("NN0009", "`nnc build` found no model to build in any of its inputs", "nothing to build: {what}"),
  NoSuchModel: t(
    "NN0010",
    "`--model` names no model of the file, or the file defines no model to count, verify or compile",
    { named: "{file} has no model `{model}`", none: "{file} defines no model to {command}" },
  ),

  // NN1xxx — lexing and parsing
  UnexpectedCharacter: t("NN1001", "a character that starts no token", "unexpected character{s} {char}"),
  UnexpectedToken: t("NN1002", "the parser met a token it did not expect", "{problem}"),
  MalformedNumber: t("NN1003", "a number with misplaced `_` separators or a bad exponent", "malformed number `{text}`"),
  UnterminatedString: t("NN1004", "a string literal without its closing quote", "unterminated string"),
  NestingTooDeep: t("NN1005", "brackets nested deeper than the parser allows", {
    operators: "expression has more than {max} operators",
    unary: "more than {max} unary `-` in a row",
    path: "path longer than {max} names",
    brackets: "brackets nested more than {max} deep{braces}",
    parser: "the file is too deeply nested or too large to parse",
  }),
  FileTooLarge: t("NN1006", "a file with more tokens than the parser accepts", {
    atLeast: "file has at least {count} tokens, more than the {max} nnc accepts",
    counted: "file has {count} tokens, more than the {max} nnc accepts",
  }),
  UnclosedBracket: t("NN1007", "an opening bracket without its closing one", "unclosed `{bracket}`"),
  UnmatchedBracket: t("NN1008", "a closing bracket without its opening one", "unmatched `{bracket}`"),
  InvalidStringEscape: t(
    "NN1009",
    'a string with an escape other than `\\"` or `\\\\`',
    "unknown escape `\\{char}` in a string",
  ),

  // NN2xxx — names and resolution
  DuplicateDefinition: t("NN2001", "a name defined twice in one file or scope", {
    defined: "`{name}` is defined twice",
    parameter: "parameter `{name}` is declared twice",
    dimension: "symbolic dimension `{name}` is declared twice",
    value: "value `{name}` is bound twice",
    already: "`{name}` is already a {what}",
  }),
  UnknownName: t("NN2002", "a name that refers to nothing: no constant, parameter or value", {
    unknown: "unknown name `{name}`",
    beforeDeclared: "parameter `{name}` is used before it is declared",
  }),
  ConstCycle: t("NN2003", "constants defined in terms of each other", {
    self: "constant `{name}` is defined in terms of itself",
    cycle: "constants form a cycle: {cycle}",
  }),
  UnknownLayer: t("NN2004", "a call to something that is neither a layer kind nor a block", {
    unknown: "unknown layer `{name}`",
    noShapeRules: "`{name}` has no shape rules",
  }),
  UnknownValue: t("NN2005", "a value name that is not bound", "unknown value `{name}`"),
  ValueShadowsLayer: t(
    "NN2006",
    "a value name that reuses the name of a layer kind or block",
    "value `{name}` reuses the name of {what}",
  ),
  RecursiveBlock: t("NN2007", "a block that calls itself, directly or through other blocks", {
    self: "block `{name}` calls itself",
    through: "block `{name}` calls itself through {blocks}",
    depth: "blocks nested more than {max} deep",
  }),
  DuplicateLayerName: t(
    "NN2008",
    "two layers with the same `as` name in one scope",
    "two layers named `{name}` in one scope",
  ),
  UnusedValue: t(
    "NN2009",
    "a named value (or an input of a block with several) that holds parameters and is never used: its parameters are still counted",
    {
      blockInput: "block input {names} is never used, but the parameters that compute it are still counted",
      one: "value {names} is never used, but {params} that {compute} it {be} still counted{where}",
      several: "values {names} are never used, but {params} that {compute} them {be} still counted{where}",
    },
    "warning",
  ),
  ReservedName: t("NN2010", "a name that is a reserved word of the language", {
    layerKind: "block `{name}` has the name of a layer kind",
    blockOption: "`{name}` is an option of every block call and cannot be a parameter",
    keyword: "`{name}` is a keyword",
  }),
  NameTaken: t(
    "NN2011",
    "a layer name given twice in one scope: an `as` number that is also a position or the number of a copy of `repeat … from`",
    "two layers are named `{name}`",
  ),
  BadNameTemplate: t("NN2012", 'a repeat\'s name template (`as "encoder_layer_{i}"`) that does not name each copy', {
    noIndex: "a name template needs the repeat's index: `with {name}`",
    unused: "the name template {template} does not use the index `{name}`",
    notAPath: "the name template {template} does not make a name: {problem}",
  }),

  // NN3xxx — types, shapes and sizes
  UnknownDtype: t("NN3001", "an input type other than f32, f64 or token", "unknown input type `{name}`"),
  InexactDivision: t("NN3002", "`/` on integers that do not divide exactly", "{a} / {b} does not divide exactly"),
  DivisionByZero: t("NN3003", "division or remainder by zero", {
    division: "division by zero",
    remainder: "remainder by zero",
  }),
  NotAnInteger: t("NN3004", "a size or count that is not an integer", {
    decimal: "expected an integer, found the decimal `{text}`",
    other: "expected an integer, found {found}",
    integer: "expected an integer",
  }),
  NonPositiveSize: t("NN3005", "a size that is zero or negative", {
    positive: "{what} must be positive, found {value}",
    notNegative: "{what} must not be negative, found {value}",
    atLeast: "{what} must be at least {min}, found {value}",
    reshape: "reshape sizes must be positive (or one -1)",
  }),
  SizeOverflow: t(
    "NN3006",
    "a size or count beyond what nnc can represent",
    "integer too large: it needs more than {bits} bits",
  ),
  TokenNeedsVocabulary: t("NN3007", "a `token` input without `of <vocabulary>`, or a float input with one", {
    vocabularyGiven: "`{dtype}` inputs take no vocabulary",
    vocabularyMissing: "a `token` input needs a vocabulary size",
  }),
  BadSymbolicDim: t("NN3008", "a symbolic dimension that is malformed or not bounded", {
    noName: "a bounded dimension needs a name on the left of `<=`",
    nameTaken: "`{name}` is already a constant; a symbolic dimension needs a new name",
  }),
  ShapeMismatch: t("NN3009", "two values combined with different shapes", {
    destructure: "{names} names are bound to {count} value{s}",
    combine: "cannot {verb} {left} and {right}",
    residual: "residual adds {body} to {input}",
    expert: "an expert maps {input} to {output}; experts must keep the shape",
    repeat: "the repeated body maps {first} to {rest}, so it cannot run {count} times",
    prelu: "prelu has {slopes} slopes but the input has {channels} channels",
    embeddingRows: "token ids go up to {max}, but the embedding has {rows} rows",
    positional: "positional({max}, {dim}) is added to vectors of {width}",
    classToken: "class_token({dim}) is prepended to vectors of {width}",
    reshape: "cannot reshape {shape} ({total} elements) into {sizes} ({known})",
    concat: "cannot concatenate {a} and {b} along axis {axis}",
    splitSizes: "split sizes add up to {sum}, but the axis has {size}",
    memoryWidth: "the {what} value's width {memory} differs from the query's width {width}",
    optionWidth: "`{option}` = {value}, but the {what} value has width {width}",
    selfWidth: "`{option}` = {value} differs from the width {width} of the one value self-attention reads",
    keysValues: "the keys have {keys} positions but the values {values}",
  }),
  WrongRank: t("NN3010", "a layer given a value with the wrong number of axes", {
    scalar: "`{kind}` expects {what}, found a scalar",
    expects: "`{kind}` expects {what}, found {shape}",
    expectsOnly: "`{kind}` expects {what}",
    noAxis: "`{kind}` needs at least one axis",
    moe: "`moe` routes feature vectors; found {shape}",
  }),
  SizeBelowOne: t(
    "NN3011",
    "an output size that drops below 1",
    "`{kind}` output size drops to {size} along axis {axis} of {shape}",
  ),
  NotDivisible: t("NN3012", "a size that must divide another and does not", {
    heads: "{heads} heads do not divide the model width {width}",
    kvHeads: "kv_heads = {kvHeads} does not divide heads = {heads}",
    rotaryHead: "rotary positions need an even head dimension, found {headDim}",
    rotaryWidth: "rotary positions rotate pairs, but the width {width} is odd",
    groups: "groups = {groups} does not divide the {which}",
    groupsBoth: "groups = {groups} does not divide both channel counts ({cin} in, {out} out)",
    groupnorm: "groupnorm: {groups} groups do not divide {channels} channels",
    reshape: "cannot reshape {shape} ({total} elements) into {sizes}",
    split: "cannot split an axis of {size} into {parts} equal parts",
    pixelShuffle: "pixel_shuffle: upscale_factor² = {square} does not divide {channels} channels",
  }),
  AxisOutOfRange: t("NN3013", "an axis beyond the value's number of axes", {
    axis: "axis {axis} is out of range for {shape}",
    paddingIdx: "padding_idx {index} is not a row of a {rows}-row embedding",
    flatten: "flatten end axis {end} comes before start axis {start}",
    index: "index {index} is out of range for an axis of size {size}",
  }),
  SequenceTooLong: t(
    "NN3014",
    "a sequence longer than a layer's declared maximum",
    "the sequence has {upTo}{length} positions, but `positional` has {max}",
  ),
  TooManyParts: t(
    "NN3015",
    "a `split` into more parts than nnc allows (4,096)",
    "a split into {count} parts; nnc allows at most {max}",
  ),
  WrongDtype: t("NN3016", "a layer given token ids where it needs float features, or floats where it needs token ids", {
    idsLost: "`{kind}` expects token ids, but its input {shape} was computed from token ids by {by}",
    floats: "`{kind}` expects token ids, found float features {shape}",
    ids: "`{kind}` expects float features, found token ids {shape}",
  }),
  SequenceAsChannels: t(
    "NN3017",
    "a sequence (or token-position) axis where a layer reads channels or features",
    "`{kind}` reads its {axis} from {where}, but {where} of {shape} {what}",
  ),
  DimensionAboveMaximum: t(
    "NN3018",
    "`nnc count --length` or `--dim` sets a symbolic dimension above the maximum its input declares",
    "`{name}` is set to {value}, above its declared maximum {max}",
  ),
  SpatialListLength: t(
    "NN3023",
    "a per-axis list (`size`, `scale_factor`) whose length is not the input's number of spatial axes",
    "`{name}` gives {count} values for the {rank} spatial ax{es} of {shape}",
  ),
  TooManyDistinctCopies: t(
    "NN3029",
    "a repeat whose copies differ (its body uses the index, or a name template names them) with more copies than nnc analyzes one by one",
    "this repeat makes {count} copies that differ, over the {max} that nnc analyzes one by one in a model",
  ),
  BroadcastMismatch: t("NN3028", "values combined elementwise whose shapes do not broadcast", {
    sizes: "cannot {verb} {left} and {right}: axis {axis} is {a} in one and {b} in the other",
    symbolic:
      "cannot {verb} {left} and {right}: axis {axis} is {a} in one and {b} in the other, which may differ between calls",
  }),

  // NN4xxx — layer arguments and options
  UnknownOption: t("NN4001", "an option the layer kind or block does not have", "{callee} has no option `{name}`"),
  WrongOptionType: t("NN4002", "an option value of the wrong type", {
    symbolicDim: "{what} needs a fixed integer, but `{name}` is a symbolic dimension",
    notANumber: "expected a number, found {found}",
    refused: "{callee} takes no `{name} = {value}`",
    expects: "{what} expects {type}, found {found}",
    listLength: "{what} expects {type}, found a list of {count}",
    mustBe: "`{name}` must be {expected}",
    topK: "top_k = {topK} is more than the {experts} experts",
    sameStride: "`padding = same` needs stride 1",
    outputPadding: "output_padding must be smaller than stride or dilation",
    poolPadding: "padding {padding} is more than half the kernel {kernel}",
    window:
      "window {window} of `{kind}` along axis {axis} covers only padding (kernel {kernel}, dilation {dilation}, padding {padding}, {length} position{s})",
    reshapeUnknown: "only one size of a reshape may be -1",
  }),
  MissingArgument: t("NN4003", "a required argument left out", "missing argument{s} {names} of {callee}"),
  DuplicateOption: t("NN4004", "an option given twice", "`{name}` is given twice"),
  TooManyArguments: t(
    "NN4005",
    "more positional arguments than the layer or block takes",
    "{callee} takes {count} positional argument{s}, found {found}",
  ),
  PositionalAfterNamed: t("NN4006", "a positional argument after a named one", "positional argument after a named one"),
  BadEnumValue: t(
    "NN4007",
    "an option value that is not one of the allowed names",
    "`{name}` is not a valid value for {what}",
  ),
  UnexpectedBody: t("NN4008", "a `{ … }` body on a layer that takes none", "{what} takes no `{ … }` body"),
  MissingBody: t(
    "NN4009",
    "a container layer (residual, moe) without its `{ … }` body",
    "`{kind}` needs a `{ … }` body",
  ),
  BadExpectQuantity: t("NN4010", "an `expect` on a quantity nnc does not know", "unknown quantity `{name}`"),
  MisplacedStatement: t("NN4011", "a statement where it is not allowed (input in a model, loss in a block, …)", {
    outputNested: "`output` is only allowed at the top of a model or block body",
    inputInModel: "`input` is only allowed in blocks",
    inputNested: "`input` is only allowed at the top of a block body, or in a `repeat` or `residual` body",
    inputTwice: "a block declares its inputs once",
    inputTwiceNested: "a `repeat` or `residual` body names its input once",
    inputManyNested: "a `repeat` or `residual` body is given one value, so `input` names one",
    expectNested: "`expect` is only allowed at the top of a model or block body",
    lossInBlock: "`loss` is only allowed in models",
    lossNested: "`loss` is only allowed at the top of a model body",
  }),
  BadValueUse: t("NN4012", "a value used where a number is expected, or a number where a value is expected", {
    valueAsNumber: "`{name}` is a value, not a number",
    operator: "`{op}` is not defined on values",
    notAValue: "expected a value, found {found}",
    notLayerOrValue: "expected a layer or a value, found {found}",
    noCurrent: "there is no current value here",
    combine: "`{op}` does not combine values; only `+` (add), `-` (subtract) and `*` (multiply) do",
    expected: "expected a value (a layer, a value name, `a + b`, `a - b`, `a * b`, `[a, b]`)",
    emptyList: "`{kind}` is given an empty list",
    oneValue: "`{kind}` takes one value, but is given a list of {count}",
    notList: "`{kind}` takes one value, not a list",
    queryMemory:
      "`{kind}` takes one value, `[query, memory]` or `[query, keys, values]`, but is given a list of {count}",
    oneOutput: "{what} must produce one value, found {found}",
  }),
  DuplicateLoss: t("NN4013", "more than one `loss` in a model", "a model states at most one loss"),
  UnknownLoss: t("NN4014", "a loss that is not mse, cross_entropy or binary_cross_entropy", {
    unknown: "unknown loss `{name}`",
    notAName: "expected a loss name, found {found}",
  }),
  BadParameterDefault: t(
    "NN4015",
    "a block parameter without default after one with a default",
    "parameter `{name}` has no default but follows one that has",
  ),
  OptionOutOfRange: t(
    "NN4016",
    "a numeric option outside its valid range (`eps > 0`, dropout `p` in [0, 1)), or not finite",
    {
      range: "{what} must be {rule}, found {value}",
      notFinite: "{what} must be a finite number, found {value}",
    },
  ),
  TooFewValues: t(
    "NN4017",
    "a layer that combines values given fewer than it needs (`concat` of one value)",
    "`concat` needs a list of at least two values: `[a, b] -> concat`",
  ),
  BlockArity: t(
    "NN4018",
    "a block given a different number of values than it takes inputs",
    "this block takes {count} input{s}, but is given {given}",
  ),
  BadTensorName: t(
    "NN4023",
    'a tensor name option (`attention`\'s `qkv_proj = "c_attn"`) that is not a dotted path of names',
    "`{option}` = {value} is not a module path: {problem}",
  ),
  TensorNameClash: t(
    "NN4024",
    'two name options of one layer that give the same tensor name (`q_proj` and `k_proj` both `"proj"`)',
    "`{first}` and `{second}` both name `{tensor}`",
  ),
  ProjectionNameUnused: t(
    "NN4025",
    "a projection name for a projection the layer does not have (`q_proj` with `qkv = fused`)",
    "`{option}` names {what}, but this attention has {has}",
  ),
  UpsampleTarget: t("NN4028", "an `upsample` given neither or both of `size` and `scale_factor`", {
    neither: "`upsample` needs `size` or `scale_factor`",
    both: "`upsample` takes `size` or `scale_factor`, not both",
  }),
  AlignCornersMode: t(
    "NN4029",
    "`align_corners` on an upsampling mode that does not interpolate (`nearest`)",
    "`align_corners` only applies to `mode = bilinear`, not `mode = {mode}`",
  ),
  CrossAttentionOption: t(
    "NN4030",
    "an `attention` option that needs one sequence (`causal`, `rope`) on cross-attention to a memory",
    "`{option}` does not apply to cross-attention (keys and values from a memory)",
  ),
  FrozenTensor: t(
    "NN4031",
    "a `frozen` tensor name that the layer does not have, or tensor names where a call has no tensors of its own",
    {
      unknown: "`{kind}` has no tensor `{name}` here",
      notLayer: "`frozen` on {what} takes `true` or `false`, not tensor names",
    },
  ),
  PaddingModeSize: t(
    "NN4032",
    "a convolution's padding too wide for its `padding_mode` (`reflect` below the size, `circular` at most the size)",
    {
      reflect:
        "`padding_mode = reflect` needs padding below the size of each axis, but axis {axis} has {size} and padding {padding}",
      circular:
        "`padding_mode = circular` wraps around at most once, but padding {padding} is more than axis {axis}'s size {size}",
    },
  ),

  BiasKvOption: t(
    "NN4033",
    "an `attention` option that orders the keys by position (`causal`, `rope`) together with `add_bias_kv`",
    "`{option}` does not combine with `add_bias_kv` (the extra key and value have no position)",
  ),
  FusedKeyBias: t(
    "NN4034",
    "an `attention` `k_bias` other than `bias` on a fused projection, whose one bias covers q, k and v",
    "`k_bias = {kBias}` with `bias = {bias}` needs separate projections: a fused projection has one bias for q, k and v",
  ),

  // NN5xxx — parameters, ties, counts, assertions
  ExpectFailed: t(
    "NN5001",
    "an `expect` assertion that does not hold",
    "expected {quantity} {op} {expected}, but {where} has {actual}",
  ),
  TieTargetUnknown: t("NN5002", "a tie to a layer that does not exist or has no weight", {
    noWeightToTie: "`{name}` has no weight to tie",
    noWeightToShare: "`{name}` has no weight to share",
    noLayer: "no layer named `{name}` before this",
  }),
  TieShapeMismatch: t("NN5003", "a tie between tensors of different shapes", "cannot tie {tensor} {shape} to {target}"),
  BudgetExceeded: t("NN5004", "a count above `--max-params` or `--max-bytes`", {
    params: "`{model}` has {params} parameters, over the budget of {budget}",
    bytes: "`{model}` needs {bytes} bytes of fp32 parameters, over the budget of {budget}",
  }),
  TieOnBlock: t(
    "NN5005",
    "a `tie` on a block call: a block instance is reused with `share`, not `tie`",
    "`tie` on a call of block `{block}` is not supported",
  ),
  ShareTargetUnknown: t("NN5006", "a `share` naming no earlier layer or block call of the same kind", {
    noLayer: "no layer or block call named `{name}` before this",
    later: "`{name}` is defined after this call; `share` reuses an instance defined before it",
    encloses: "`{name}` encloses this call: an instance cannot be applied inside itself",
    otherKind: "`{name}` is {found}, not {wanted}: `share` applies that instance again",
    noCounterpart: "`{name}` has no counterpart `{target}` in the instance it shares",
  }),
  ShareShapeMismatch: t(
    "NN5007",
    "a `share` whose input gives the shared tensors other shapes than the instance has",
    "this use of `{target}` needs {tensor} {shape}, but the instance has {found}",
  ),
  ShareConflict: t("NN5008", "a `share` with `tie`, `frozen` or `transpose` on the same call, or on a container", {
    option: "`share` and `{option}` on one call: a reused instance keeps its own tensors and their settings",
    transposed: "`share` takes a layer or block name, not `transpose(…)`",
    container: "`share` on `{kind}` is not supported",
  }),
  ShareArgumentMismatch: t(
    "NN5009",
    "a `share` whose arguments differ from the instance's (a PyTorch module has one set, made with it)",
    "this use of `{target}` has `{arg} = {here}`, but the instance has `{arg} = {there}`",
  ),

  // NN6xxx — imports
  ImportNotFound: t(
    "NN6001",
    "an imported file that does not exist (one that exists but cannot be read is NN6007)",
    "cannot import `{path}`: {reason}",
  ),
  ImportCycle: t("NN6002", "files that import each other", "import cycle: {files}"),
  ImportNameNotFound: t("NN6003", "an imported name the file does not define", "`{name}` is not defined in {file}"),
  ImportClash: t("NN6004", "an imported name that clashes with a local or another imported one", {
    local: "`{name}` is both imported and defined here",
    twice: "`{name}` is imported twice, from different files",
  }),
  ImportFromStdin: t(
    "NN6005",
    "a relative import in a spec read from standard input",
    "a spec read from standard input cannot import a relative path",
  ),
  ImportOutsideRoot: t(
    "NN6006",
    "an import outside the directory given with `--root`",
    "cannot import `{path}`: {reason}",
  ),
  ImportUnreadable: t(
    "NN6007",
    "an imported file that exists but cannot be read (not a regular file, too large, no permission)",
    "cannot import `{path}`: {reason}",
  ),

  // NN7xxx — weight files and checkpoints (`nnc verify`, safetensors)
  BadWeightFile: t(
    "NN7001",
    "a weight file that is not valid safetensors: its header, offsets or sizes (names the tensor)",
    "{file} is not a valid safetensors file: {problem}",
  ),
  MissingTensor: t("NN7002", "a tensor of the model that the checkpoint does not hold", {
    missing: "the checkpoint has no `{name}` {shape}{buffer}",
    more: "… and {count} more tensors of the model are not in the checkpoint",
  }),
  UnexpectedTensor: t("NN7003", "a tensor of the checkpoint that the model does not have", {
    unexpected: "the model has no tensor `{name}` ({dtype} {shape})",
    more: "… and {count} more tensors of the checkpoint are not in the model",
  }),
  TensorShapeMismatch: t(
    "NN7004",
    "a checkpoint tensor whose shape differs from the model's (transposed, or another shape)",
    {
      mismatch: "`{name}` is {found} in the checkpoint, {expected} in the model{transposed}",
      more: "… and {count} more tensors have another shape",
    },
  ),
  TensorDtypeMismatch: t(
    "NN7005",
    "a checkpoint tensor of a dtype that cannot hold it (an integer weight, a float batch counter)",
    {
      mismatch: "`{name}` is {found} in the checkpoint; the model needs {expected}",
      more: "… and {count} more tensors have a dtype that cannot hold them",
    },
  ),
  NonFiniteWeights: t("NN7006", "a checkpoint tensor holding NaN or infinite values", {
    nonFinite: "`{name}` holds {what} value{s}",
    more: "… and {count} more tensors hold NaN or infinite values",
  }),
  TiedCopiesDiffer: t(
    "NN7007",
    "a tied tensor stored twice with different values",
    "`{copy}` is tied to `{target}`, but the checkpoint stores the two with different values",
  ),
  CheckpointPrefix: t("NN7008", "checkpoint names that carry a prefix the model's names do not (`net.fc1.weight`)", {
    all: "every checkpoint tensor name starts with `{prefix}`, which the model's names do not",
    some: "{count} of the {total} checkpoint tensor names start with `{prefix}`, which the model's names do not",
  }),
  BatchCounterMissing: t(
    "NN7009",
    "a BatchNorm `num_batches_tracked` absent from the checkpoint (PyTorch fills in 0)",
    "the checkpoint has no `num_batches_tracked` for {layers}",
    "note",
  ),
  PrefixUnused: t(
    "NN7010",
    "a `--prefix` that starts no tensor name of the checkpoint",
    "no checkpoint tensor name starts with the prefix `{prefix}`",
    "warning",
  ),

  // NN9xxx — code generation
  UnsupportedInCodegen: t("NN9001", "a layer kind the code generator cannot emit yet", {
    kind: "the code generator cannot emit `{kind}` yet",
    noInputOutput: "`{model}` has no {what} to compile",
  }),
  InexactSize: t(
    "NN9002",
    "a size past 2^53 − 1, which the generated code cannot hold exactly as a JavaScript number",
    "{model} has {figure} {what}, past 2^53 − 1 = {max}",
  ),
  BuildTooLarge: t(
    "NN9003",
    "a model that expands to more operations, values or generated source than code generation allows",
    {
      expands: "{model} expands to {figure} {what}; code generation spells out at most {limit}",
      source: "`{model}`'s generated source would be about {size}, over the limit of {limit}",
    },
  ),
  ModuleTooLarge: t(
    "NN9004",
    "a model whose module would allocate more memory at batch 1 than code generation allows (1 TiB)",
    "{model}'s module would allocate {size} at batch 1, over the limit of {limit}",
  ),
  BakeWeightsMismatch: t(
    "NN9005",
    "weights for `--bake-weights` that do not fit the model (names, shapes, finite values, ties)",
    "--bake-weights for `{model}`: {problem}",
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
