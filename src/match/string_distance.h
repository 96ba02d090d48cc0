#pragma once

#include <string_view>

namespace cdp::match {

// String similarity measures for comparing field values. They compare bytes: values are
// normalised first (case-folded, accents stripped: see FieldNormalizer), so for the names,
// places and addresses they are used on, bytes are letters. Each is O(|a|·|b|) at most and
// allocation-free for strings up to 64 bytes (longer ones are cut to 64 bytes, which only
// matters for free text).

// Jaro similarity in [0, 1]; 1 for two empty strings.
double jaro(std::string_view a, std::string_view b);

// Jaro-Winkler similarity in [0, 1]: Jaro boosted by a shared prefix of up to 4 characters
// (scaling factor 0.1), the usual variant for names.
double jaro_winkler(std::string_view a, std::string_view b);

// Levenshtein edit distance (insertions, deletions, substitutions).
int levenshtein(std::string_view a, std::string_view b);

// Damerau-Levenshtein distance in its optimal-string-alignment form: Levenshtein plus the
// transposition of two adjacent characters as one edit ("1956" / "1965" is 1).
int damerau_levenshtein(std::string_view a, std::string_view b);

}  // namespace cdp::match
