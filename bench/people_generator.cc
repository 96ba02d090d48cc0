// cdp_people: writes synthetic person records with known duplicates, for matching benchmarks at
// any scale. Each person gets 1 to 5 records; every copy after the first is corrupted the way
// real files are: typos (insert, delete, substitute, swap), nicknames ("bob" for "robert"),
// first name and surname swapped, missing fields, a mistyped or shifted date of birth, a move
// to another city and postcode, a new e-mail address. Households share a surname, address,
// city and postcode but are different people: the hard negatives.
//
//   cdp_people --records 1000000 --out people.csv [--seed 1]
//
// Columns: id,first_name,surname,dob,city,postcode,email,cluster (cluster = the true person).
#include <CLI/CLI.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr std::array<std::pair<const char*, const char*>, 40> kFirstNames = {{
    {"robert", "bob"},        {"william", "bill"},   {"elizabeth", "liz"},
    {"margaret", "maggie"},   {"james", "jim"},      {"john", "jack"},
    {"catherine", "kate"},    {"richard", "dick"},   {"michael", "mike"},
    {"thomas", "tom"},        {"jennifer", "jenny"}, {"patricia", "pat"},
    {"christopher", "chris"}, {"daniel", "dan"},     {"matthew", "matt"},
    {"anthony", "tony"},      {"susan", "sue"},      {"rebecca", "becky"},
    {"joseph", "joe"},        {"edward", "ted"},     {"samantha", "sam"},
    {"alexander", "alex"},    {"nicholas", "nick"},  {"victoria", "vicky"},
    {"benjamin", "ben"},      {"jessica", "jess"},   {"timothy", "tim"},
    {"deborah", "debbie"},    {"stephen", "steve"},  {"abigail", "abby"},
    {"olivia", "liv"},        {"emily", "em"},       {"isabella", "bella"},
    {"frederick", "fred"},    {"harold", "harry"},   {"kenneth", "ken"},
    {"amelia", "amy"},        {"oliver", "ollie"},   {"charlotte", "lottie"},
    {"henry", "hank"},
}};

constexpr std::array<const char*, 24> kSyllables = {
    "ash", "bur", "cal", "dor", "ell",  "fen", "gar", "hol", "ing", "jar", "kel", "lan",
    "mor", "nor", "ost", "par", "quin", "ros", "sto", "tan", "ver", "wil", "yar", "zel"};
constexpr std::array<const char*, 8> kSurnameEndings = {"son", "ton",  "ley",  "er",
                                                        "by",  "ford", "well", "man"};
constexpr std::array<const char*, 8> kFirstEndings = {"a", "o", "ie", "y", "en", "ia", "el", "us"};
constexpr std::array<const char*, 8> kDomains = {"gmail.com",   "yahoo.com",  "outlook.com",
                                                 "hotmail.com", "mail.com",   "proton.me",
                                                 "icloud.com",  "example.org"};

struct Person {
  std::string first, surname, dob, city, postcode, email;
};

class Generator {
 public:
  explicit Generator(uint64_t seed) : random_(seed) {}

  uint64_t below(uint64_t n) { return random_() % n; }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(random_) < p; }

  // Surnames follow a long-tailed distribution: a few very common, most rare.
  std::string surname() {
    const uint64_t rank = static_cast<uint64_t>(std::pow(below(1'000'000) + 1, 1.5)) % 150'000;
    std::mt19937_64 named(rank);  // the same rank is always the same name
    std::string out = kSyllables[named() % kSyllables.size()];
    out += kSyllables[named() % kSyllables.size()];
    if (named() % 2 == 0) out += kSyllables[named() % kSyllables.size()];
    out += kSurnameEndings[named() % kSurnameEndings.size()];
    return out;
  }

  // A quarter of people have one of the formal names with a well-known nickname; the others
  // draw from 5,000 generated names with a long-tailed popularity, like real first names.
  std::string first(bool* has_nickname, size_t* index) {
    *index = 0;
    *has_nickname = chance(0.25);
    if (*has_nickname) {
      *index = below(kFirstNames.size());
      return kFirstNames[*index].first;
    }
    const uint64_t rank = static_cast<uint64_t>(std::pow(below(1'000'000) + 1, 1.4)) % 5'000;
    std::mt19937_64 named(rank + 1'000'000);
    std::string out = kSyllables[named() % kSyllables.size()];
    out += kSyllables[named() % kSyllables.size()];
    out += kFirstEndings[named() % kFirstEndings.size()];
    return out;
  }

  std::string dob() {
    char text[16];
    std::snprintf(text, sizeof(text), "%04d-%02d-%02d", static_cast<int>(1930 + below(76)),
                  static_cast<int>(1 + below(12)), static_cast<int>(1 + below(28)));
    return text;
  }

  void place(Person* person) {
    const uint64_t city = below(2000);
    person->city = std::string(kSyllables[city % 24]) + kSyllables[(city / 24) % 24] + "ville";
    char postcode[16];
    std::snprintf(postcode, sizeof(postcode), "%c%c%llu %llu%c%c",
                  static_cast<char>('a' + city % 26), static_cast<char>('a' + city / 26 % 26),
                  static_cast<unsigned long long>(city % 90 + 1),
                  static_cast<unsigned long long>(below(10)), static_cast<char>('a' + below(26)),
                  static_cast<char>('a' + below(26)));
    person->postcode = postcode;
  }

  // Addresses people pick: name-based in several patterns, or a handle unrelated to the name.
  std::string email(const Person& person) {
    std::string user;
    switch (below(4)) {
      case 0: user = person.first + "." + person.surname; break;
      case 1:
        user = person.first.substr(0, 1) + person.surname + std::to_string(below(10'000));
        break;
      case 2: user = person.first + std::to_string(below(10'000)); break;
      default:
        user = std::string(kSyllables[below(kSyllables.size())]) +
               kSyllables[below(kSyllables.size())] + std::to_string(below(100'000));
        break;
    }
    return user + "@" + kDomains[below(kDomains.size())];
  }

  std::string typo(std::string text) {
    if (text.size() < 2) return text;
    const size_t at = below(text.size() - 1);
    switch (below(4)) {
      case 0: text.insert(at, 1, static_cast<char>('a' + below(26))); break;
      case 1: text.erase(at, 1); break;
      case 2: text[at] = static_cast<char>('a' + below(26)); break;
      default: std::swap(text[at], text[at + 1]); break;
    }
    return text;
  }

  Person corrupt(Person copy, bool has_nickname, size_t first_index) {
    if (chance(0.15)) copy.first = typo(copy.first);
    if (has_nickname && chance(0.2)) copy.first = kFirstNames[first_index].second;
    if (chance(0.15)) copy.surname = typo(copy.surname);
    if (chance(0.03)) std::swap(copy.first, copy.surname);
    if (chance(0.1)) {
      std::swap(copy.dob[8], copy.dob[9]);  // a digit swap in the day
    } else if (chance(0.05)) {
      copy.dob[6] = copy.dob[6] == '9' ? '8' : static_cast<char>(copy.dob[6] + 1);  // a month off
    }
    if (chance(0.2)) place(&copy);  // moved
    if (chance(0.3)) copy.email = email(copy);
    for (std::string* field :
         {&copy.first, &copy.surname, &copy.dob, &copy.city, &copy.postcode, &copy.email}) {
      if (chance(0.1)) field->clear();
    }
    return copy;
  }

 private:
  std::mt19937_64 random_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"cdp_people: synthetic person records with known duplicates"};
  uint64_t records = 100'000;
  uint64_t seed = 1;
  std::string out_path;
  cli.add_option("--records", records, "How many records to write (default 100000)");
  cli.add_option("--seed", seed, "Random seed (default 1)");
  cli.add_option("--out", out_path, "Output CSV file")->required();
  CLI11_PARSE(cli, argc, argv);

  std::ofstream out(out_path);
  if (!out) {
    std::cerr << "cdp_people: cannot write " << out_path << "\n";
    return 1;
  }
  out << "id,first_name,surname,dob,city,postcode,email,cluster\n";
  Generator generator(seed);
  uint64_t written = 0;
  uint64_t cluster = 0;
  Person household;
  while (written < records) {
    Person person;
    bool has_nickname = false;
    size_t first_index = 0;
    person.first = generator.first(&has_nickname, &first_index);
    if (cluster > 0 && generator.chance(0.3)) {
      // Another member of the previous household: same surname and address, another person.
      person.surname = household.surname;
      person.city = household.city;
      person.postcode = household.postcode;
    } else {
      person.surname = generator.surname();
      generator.place(&person);
    }
    person.dob = generator.dob();
    person.email = generator.email(person);
    household = person;
    uint64_t copies = 1;
    while (copies < 5 && generator.chance(0.45)) ++copies;
    for (uint64_t copy = 0; copy < copies && written < records; ++copy) {
      const Person record =
          copy == 0 ? person : generator.corrupt(person, has_nickname, first_index);
      out << written << "," << record.first << "," << record.surname << "," << record.dob << ","
          << record.city << "," << record.postcode << "," << record.email << "," << cluster << "\n";
      ++written;
    }
    ++cluster;
  }
  return out ? 0 : 1;
}
