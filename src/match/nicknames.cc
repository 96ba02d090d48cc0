#include "match/nicknames.h"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

namespace cdp::match {
namespace {

// One group per line: the formal name first, then its diminutives and variant spellings.
constexpr std::string_view kGroups[] = {
    "abigail abby abbie abbey gail",
    "abraham abe bram",
    "adam ad addie",
    "adrian adrien ade",
    "agnes aggie nessa",
    "albert al bert bertie albie",
    "alexander alex alec alek xander sandy sasha lex",
    "alexandra alex alexa lexi sandra sandy sasha alexis",
    "alfred alf alfie fred freddie",
    "alice ali allie alicia alison allison",
    "allan alan allen al",
    "amanda mandy manda",
    "andrew andy drew andre andreas",
    "angela angie angelina",
    "anne ann annie anna hannah nan nancy nina",
    "anthony tony anton antony",
    "archibald archie arch",
    "arnold arnie",
    "arthur art artie",
    "barbara barb barbie babs",
    "barnaby barney",
    "bartholomew bart",
    "benjamin ben benny benji",
    "bernard bernie barney",
    "beatrice bea trixie",
    "bridget bridie biddy",
    "caroline carol carrie carolyn lina",
    "catherine cathy kate katie kathy katherine kathryn katharine cat kay kitty kath",
    "charles charlie chuck chas chaz carl",
    "charlotte charlie lottie lotte",
    "christian chris kit",
    "christina chris tina chrissy christine kristina kristine",
    "christopher chris kit topher kris",
    "clifford cliff",
    "cynthia cindy",
    "daniel dan danny dane",
    "danielle dani",
    "david dave davy davie",
    "deborah debbie deb debra",
    "dennis denis den",
    "dominic dom nick",
    "donald don donnie",
    "dorothy dot dottie dolly",
    "douglas doug",
    "edward ed eddie ted teddy ned",
    "edmund ed eddie ned",
    "edwin ed eddie",
    "eleanor ellie nell nora elle elena helen",
    "elizabeth liz lizzie beth betty betsy bess bessie eliza libby lisa elisabeth elsie",
    "emily em emmy",
    "emma em emmy",
    "eugene gene",
    "evelyn eve evie",
    "frances fran fanny frankie",
    "francis frank frankie fran",
    "frederick fred freddie freddy fritz",
    "gabriel gabe",
    "gabrielle gabby gaby",
    "geoffrey geoff jeff jeffrey",
    "gerald gerry jerry",
    "gilbert gil bert",
    "gregory greg",
    "harold harry hal",
    "harriet hattie harry",
    "henry harry hank hal",
    "herbert herb bert",
    "isaac ike zac",
    "isabella bella izzy isabel isobel belle",
    "jacob jake jack",
    "james jim jimmy jamie jem",
    "jane janie jenny jan",
    "janet jan jenny",
    "jeremiah jeremy jerry",
    "jennifer jen jenny jenn",
    "jessica jess jessie",
    "joanna jo joanne joan",
    "john jack johnny jon jonathan",
    "jonathan jon jonny nathan",
    "joseph joe joey jo",
    "josephine jo josie",
    "joshua josh",
    "judith judy jude",
    "julia julie jules",
    "kenneth ken kenny",
    "laurence larry laurie lawrence lawrie",
    "leonard len lenny leo",
    "lewis lew louis lou",
    "linda lindy lyn",
    "louise lou lulu louisa",
    "lucy lu lucia",
    "madeleine maddie maddy madeline",
    "margaret maggie meg peggy marge margie greta daisy maisie madge rita",
    "martha marty mattie patty",
    "martin marty",
    "mary molly polly mae may mamie maria marie",
    "matilda tilly tilda mattie",
    "matthew matt matty",
    "melissa mel missy lissa",
    "michael mike mick mickey mikey",
    "michelle shelly michele",
    "natalie nat nattie",
    "nathaniel nat nate nathan",
    "nicholas nick nicky nico",
    "nicola nicky nikki nicole",
    "oliver ollie olly",
    "olivia liv livvy ollie",
    "patricia pat patty tricia trish",
    "patrick pat paddy",
    "penelope penny",
    "peter pete",
    "philip phil pip phillip",
    "rachel rach",
    "raymond ray",
    "rebecca becky becca",
    "reginald reg reggie",
    "richard rich rick ricky dick richie",
    "robert rob bob bobby robbie bert robin",
    "roberta bobbie robbie",
    "ronald ron ronnie",
    "rosemary rose rosie",
    "samantha sam sammy",
    "samuel sam sammy",
    "sarah sally sadie sara",
    "sebastian seb bastian",
    "sophia sophie",
    "stanley stan",
    "stephanie steph stevie",
    "stephen steve stevie steven",
    "susan sue susie suzanne susanna",
    "terence terry",
    "theodore theo ted teddy",
    "theresa terry tessa tess teresa",
    "thomas tom tommy",
    "timothy tim timmy",
    "valerie val",
    "victoria vicky tori",
    "vincent vince vinny",
    "walter walt wally",
    "william will bill billy willy liam willie",
    "winifred winnie freda",
    "zachary zach zack zac",
};

struct Table {
  std::unordered_map<std::string, std::vector<uint16_t>> groups_by_name;

  Table() {
    uint16_t group = 0;
    for (std::string_view line : kGroups) {
      size_t start = 0;
      while (start < line.size()) {
        size_t end = line.find(' ', start);
        if (end == std::string_view::npos) end = line.size();
        auto& groups = groups_by_name[std::string(line.substr(start, end - start))];
        if (groups.empty() || groups.back() != group) groups.push_back(group);
        start = end + 1;
      }
      ++group;
    }
  }
};

const Table& table() {
  static const Table instance;
  return instance;
}

}  // namespace

std::span<const uint16_t> Nicknames::groups(std::string_view name) {
  const auto& names = table().groups_by_name;
  auto found = names.find(std::string(name));
  if (found == names.end()) return {};
  return found->second;
}

bool Nicknames::same_name(std::string_view a, std::string_view b) {
  return share_group(groups(a), groups(b));
}

bool Nicknames::share_group(std::span<const uint16_t> a, std::span<const uint16_t> b) {
  for (uint16_t group : a) {
    if (std::find(b.begin(), b.end(), group) != b.end()) return true;
  }
  return false;
}

}  // namespace cdp::match
