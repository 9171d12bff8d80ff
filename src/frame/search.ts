/**
 * Case-insensitive matching of text values: the `icontains`, `istartswith`, `iendswith` and
 * `ieq` filter ops and the `q=` search (rows where any String column contains the text).
 *
 * The folding rule, applied to both the column and the client's text:
 *   fold(s) = lowercase(uppercase(s)), then final sigma `ς` → `σ` and `ß` → `ss`,
 * using Unicode's full, locale-independent case mappings (Polars' `to_uppercase`/`to_lowercase`
 * on the column, JavaScript's `toUpperCase`/`toLowerCase` on the text; checked against each other
 * in test/search-facets.test.ts). Two strings match exactly when their Unicode full case foldings
 * (CaseFolding.txt C+F, the rule dataset names use) match, with one exception: dotless `ı`
 * matches `i` (folding keeps it apart; uppercasing cannot). The test checks this against every
 * code point. So `Straße` ≡ `STRASSE` ≡ `ẞ`-spellings, `ﬁ` ≡ `fi`, `ſ` ≡ `s`, `Σ` ≡ `σ` ≡ `ς`,
 * `ǅ` ≡ `ǆ`, the Kelvin sign ≡ `k`. There is no Unicode normalisation of values: a precomposed `é`
 * does not match `e` + combining accent, because values are kept exactly as uploaded (names are
 * NFC-normalised, values are not).
 */
import pl from "nodejs-polars";

/** The folding rule on the client's text. */
export function foldText(text: string): string {
  return text.toUpperCase().toLowerCase().replaceAll("ς", "σ").replaceAll("ß", "ss");
}

/** The folding rule on a String column. */
export function foldExpr(col: pl.Expr): pl.Expr {
  return col.str.toUpperCase().str.toLowerCase().str.replaceAll("ς", "σ", true).str.replaceAll("ß", "ss", true);
}

export type FoldOp = "icontains" | "istartswith" | "iendswith" | "ieq";

/** The predicate `fold(col) <op> fold(text)`; a null matches nothing. */
export function foldedMatch(col: pl.Expr, op: FoldOp, text: string): pl.Expr {
  const c = foldExpr(col);
  const needle = foldText(text);
  switch (op) {
    case "icontains":
      return c.str.contains(pl.lit(needle), true);
    case "istartswith":
      return c.str.startsWith(pl.lit(needle));
    case "iendswith":
      return c.str.endsWith(pl.lit(needle));
    default:
      return c.eq(pl.lit(needle));
  }
}

/**
 * `q=text`: rows where any of the given text columns contains `text` case-insensitively (nulls
 * never match). With no text columns, no row matches.
 */
export function searchExpr(textColumns: pl.Expr[], text: string): pl.Expr {
  if (textColumns.length === 0) return pl.lit(false);
  return textColumns.map((c) => foldedMatch(c, "icontains", text).fillNull(false)).reduce((a, b) => a.or(b));
}
