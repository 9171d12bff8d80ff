/**
 * The functions a query may call: Polars SQL's scalar, aggregate and window functions
 * (polars-sql 0.55 `functions.rs`, `PolarsSQLFunctions::try_from_sql`), all of which compute on
 * values and none of which touch files. Anything else, including every table function
 * (`read_csv`, `read_parquet`, `read_ipc`, `read_json`) and any name a future Polars adds, is
 * refused before Polars sees the query: this is an allow-list, not a list of known dangers.
 *
 * Names are compared lower-cased, as Polars resolves them. Names Polars' parser knows but this
 * nodejs-polars build cannot run (`initcap`, `bit_count`) are left out, so they are refused as
 * unavailable rather than failing inside a worker.
 */
export const ALLOWED_FUNCTIONS: ReadonlySet<string> = new Set([
  // bitwise
  "bit_and", "bitand", "bit_not", "bitnot", "bit_or", "bitor", "bit_xor", "bitxor", "xor",
  // math
  "abs", "cbrt", "ceil", "ceiling", "div", "exp", "floor", "ln", "log", "log10", "log1p", "log2", "mod", "pi",
  "pow", "power", "round", "trunc", "truncate", "sign", "sqrt",
  // trigonometry
  "cos", "cot", "sin", "tan", "cosd", "cotd", "sind", "tand", "acos", "asin", "atan", "atan2", "acosd", "asind",
  "atand", "atan2d", "degrees", "radians",
  // conditional
  "coalesce", "greatest", "if", "ifnull", "least", "nullif",
  // temporal
  "date", "date_part", "strftime", "timestamp", "datetime", "time", "strptime",
  // strings
  "bit_length", "concat", "concat_ws", "ends_with", "left", "length", "char_length", "character_length",
  "lower", "lpad", "ltrim", "normalize", "octet_length", "regexp_like", "replace", "reverse", "right", "rpad",
  "rtrim", "split_part", "starts_with", "string_to_array", "strpos", "substr", "upper",
  // aggregates
  "avg", "corr", "count", "covar_pop", "covar_samp", "covar", "first", "last", "max", "median", "min",
  "quantile_cont", "quantile_disc", "stdev", "stddev", "stdev_samp", "stddev_samp", "string_agg", "listagg",
  "group_concat", "sum", "total", "var", "variance", "var_samp",
  // arrays
  "array_agg", "array_contains", "array_get", "array_length", "array_lower", "array_mean", "array_reverse",
  "array_sum", "array_to_string", "array_unique", "array_upper", "unnest",
  // window
  "rank", "dense_rank", "first_value", "last_value", "lag", "lead", "row_number",
  // column selection by pattern over the tables in the query
  "columns",
]);

/** Table functions Polars SQL has; named in the refusal so a user knows why. */
export const FILE_TABLE_FUNCTIONS: ReadonlySet<string> = new Set(["read_csv", "read_parquet", "read_ipc", "read_json"]);
