/* SPDX-License-Identifier: MIT
 *
 * test_cron.c: cron fire times (src/beat/beat_cron.c): next/previous in
 * UTC and in DST zones against an oracle's tables, and the
 * known-failures DST scenarios C12 C14. Syntax, errors and special dates
 * (C15 C16 C18) are test_cron_syntax.c.
 *
 * The tables below were produced by an independent oracle (its source is
 * at the end of this file): its own parser in Python and a brute-force
 * walk over real instants, minute by minute, with Python's zoneinfo for
 * the zone - no code shared with syncq. Instants are epoch seconds.
 *   F1 = 2024-02-27T22:13:37Z (UTC column: Feb 29 and month ends ahead)
 *   F2 = 2024-03-09T12:00:00Z (America/New_York, spring forward next day)
 *   F3 = 2024-10-26T12:00:00Z (Europe/Berlin, fall back next day)
 */
#include "test_cron_util.h"

#define F1 1709072017LL
#define F2 1709985600LL
#define F3 1729944000LL

struct row {
    const char *expr;
    int64_t utc[5];    /* next 5 after F1 in UTC */
    int64_t ny[5];     /* next 5 after F2 in America/New_York */
    int64_t berlin[5]; /* next 5 after F3 in Europe/Berlin */
};

static const struct row rows[] = {
    {"* * * * *",
     {1709072040LL, 1709072100LL, 1709072160LL, 1709072220LL, 1709072280LL},
     {1709985660LL, 1709985720LL, 1709985780LL, 1709985840LL, 1709985900LL},
     {1729944060LL, 1729944120LL, 1729944180LL, 1729944240LL, 1729944300LL}},
    {"*/15 * * * *",
     {1709072100LL, 1709073000LL, 1709073900LL, 1709074800LL, 1709075700LL},
     {1709986500LL, 1709987400LL, 1709988300LL, 1709989200LL, 1709990100LL},
     {1729944900LL, 1729945800LL, 1729946700LL, 1729947600LL, 1729948500LL}},
    {"0 * * * *",
     {1709074800LL, 1709078400LL, 1709082000LL, 1709085600LL, 1709089200LL},
     {1709989200LL, 1709992800LL, 1709996400LL, 1710000000LL, 1710003600LL},
     {1729947600LL, 1729951200LL, 1729954800LL, 1729958400LL, 1729962000LL}},
    {"30 2 * * *",
     {1709087400LL, 1709173800LL, 1709260200LL, 1709346600LL, 1709433000LL},
     {1710054000LL, 1710138600LL, 1710225000LL, 1710311400LL, 1710397800LL},
     {1729989000LL, 1730079000LL, 1730165400LL, 1730251800LL, 1730338200LL}},
    {"0 2 * * *",
     {1709085600LL, 1709172000LL, 1709258400LL, 1709344800LL, 1709431200LL},
     {1710054000LL, 1710136800LL, 1710223200LL, 1710309600LL, 1710396000LL},
     {1729987200LL, 1730077200LL, 1730163600LL, 1730250000LL, 1730336400LL}},
    {"30 1 * * *",
     {1709083800LL, 1709170200LL, 1709256600LL, 1709343000LL, 1709429400LL},
     {1710052200LL, 1710135000LL, 1710221400LL, 1710307800LL, 1710394200LL},
     {1729985400LL, 1730075400LL, 1730161800LL, 1730248200LL, 1730334600LL}},
    {"0 */2 * * *",
     {1709078400LL, 1709085600LL, 1709092800LL, 1709100000LL, 1709107200LL},
     {1709989200LL, 1709996400LL, 1710003600LL, 1710010800LL, 1710018000LL},
     {1729951200LL, 1729958400LL, 1729965600LL, 1729972800LL, 1729980000LL}},
    {"15 1-3 * * *",
     {1709082900LL, 1709086500LL, 1709090100LL, 1709169300LL, 1709172900LL},
     {1710051300LL, 1710054000LL, 1710054900LL, 1710134100LL, 1710137700LL},
     {1729984500LL, 1729988100LL, 1729995300LL, 1730074500LL, 1730078100LL}},
    {"*/20 2 * * *",
     {1709085600LL, 1709086800LL, 1709088000LL, 1709172000LL, 1709173200LL},
     {1710054000LL, 1710136800LL, 1710138000LL, 1710139200LL, 1710223200LL},
     {1729987200LL, 1729988400LL, 1729989600LL, 1730077200LL, 1730078400LL}},
    {"0 0 1 * *",
     {1709251200LL, 1711929600LL, 1714521600LL, 1717200000LL, 1719792000LL},
     {1711944000LL, 1714536000LL, 1717214400LL, 1719806400LL, 1722484800LL},
     {1730415600LL, 1733007600LL, 1735686000LL, 1738364400LL, 1740783600LL}},
    {"0 0 L * *",
     {1709164800LL, 1711843200LL, 1714435200LL, 1717113600LL, 1719705600LL},
     {1711857600LL, 1714449600LL, 1717128000LL, 1719720000LL, 1722398400LL},
     {1730329200LL, 1732921200LL, 1735599600LL, 1738278000LL, 1740697200LL}},
    {"0 0 L-1 * *",
     {1709078400LL, 1711756800LL, 1714348800LL, 1717027200LL, 1719619200LL},
     {1711771200LL, 1714363200LL, 1717041600LL, 1719633600LL, 1722312000LL},
     {1730242800LL, 1732834800LL, 1735513200LL, 1738191600LL, 1740610800LL}},
    {"0 0 29 2 *",
     {1709164800LL, 1835395200LL, 1961625600LL, 2087856000LL, 2214086400LL},
     {1835413200LL, 1961643600LL, 2087874000LL, 2214104400LL, 2340334800LL},
     {1835391600LL, 1961622000LL, 2087852400LL, 2214082800LL, 2340313200LL}},
    {"0 9 29 2 *",
     {1709197200LL, 1835427600LL, 1961658000LL, 2087888400LL, 2214118800LL},
     {1835445600LL, 1961676000LL, 2087906400LL, 2214136800LL, 2340367200LL},
     {1835424000LL, 1961654400LL, 2087884800LL, 2214115200LL, 2340345600LL}},
    {"0 0 31 * *",
     {1711843200LL, 1717113600LL, 1722384000LL, 1725062400LL, 1730332800LL},
     {1711857600LL, 1717128000LL, 1722398400LL, 1725076800LL, 1730347200LL},
     {1730329200LL, 1735599600LL, 1738278000LL, 1743372000LL, 1748642400LL}},
    {"0 0 30 * *",
     {1711756800LL, 1714435200LL, 1717027200LL, 1719705600LL, 1722297600LL},
     {1711771200LL, 1714449600LL, 1717041600LL, 1719720000LL, 1722312000LL},
     {1730242800LL, 1732921200LL, 1735513200LL, 1738191600LL, 1743289200LL}},
    {"0 0 * * 0",
     {1709424000LL, 1710028800LL, 1710633600LL, 1711238400LL, 1711843200LL},
     {1710046800LL, 1710648000LL, 1711252800LL, 1711857600LL, 1712462400LL},
     {1729980000LL, 1730588400LL, 1731193200LL, 1731798000LL, 1732402800LL}},
    {"0 0 * * 7",
     {1709424000LL, 1710028800LL, 1710633600LL, 1711238400LL, 1711843200LL},
     {1710046800LL, 1710648000LL, 1711252800LL, 1711857600LL, 1712462400LL},
     {1729980000LL, 1730588400LL, 1731193200LL, 1731798000LL, 1732402800LL}},
    {"0 0 * * sun",
     {1709424000LL, 1710028800LL, 1710633600LL, 1711238400LL, 1711843200LL},
     {1710046800LL, 1710648000LL, 1711252800LL, 1711857600LL, 1712462400LL},
     {1729980000LL, 1730588400LL, 1731193200LL, 1731798000LL, 1732402800LL}},
    {"0 12 * * mon-fri",
     {1709121600LL, 1709208000LL, 1709294400LL, 1709553600LL, 1709640000LL},
     {1710172800LL, 1710259200LL, 1710345600LL, 1710432000LL, 1710518400LL},
     {1730113200LL, 1730199600LL, 1730286000LL, 1730372400LL, 1730458800LL}},
    {"0 12 * * fri-sun",
     {1709294400LL, 1709380800LL, 1709467200LL, 1709899200LL, 1709985600LL},
     {1710003600LL, 1710086400LL, 1710518400LL, 1710604800LL, 1710691200LL},
     {1730026800LL, 1730458800LL, 1730545200LL, 1730631600LL, 1731063600LL}},
    {"0 0 13 * 5",
     {1709251200LL, 1709856000LL, 1710288000LL, 1710460800LL, 1711065600LL},
     {1710302400LL, 1710475200LL, 1711080000LL, 1711684800LL, 1712289600LL},
     {1730415600LL, 1731020400LL, 1731452400LL, 1731625200LL, 1732230000LL}},
    {"0 0 */2 * 1",
     {1710115200LL, 1711324800LL, 1711929600LL, 1713139200LL, 1714348800LL},
     {1710129600LL, 1711339200LL, 1711944000LL, 1713153600LL, 1714363200LL},
     {1731279600LL, 1732489200LL, 1733698800LL, 1734908400LL, 1736722800LL}},
    {"0 0 1,15 * *",
     {1709251200LL, 1710460800LL, 1711929600LL, 1713139200LL, 1714521600LL},
     {1710475200LL, 1711944000LL, 1713153600LL, 1714536000LL, 1715745600LL},
     {1730415600LL, 1731625200LL, 1733007600LL, 1734217200LL, 1735686000LL}},
    {"0 0 1 jan,jul *",
     {1719792000LL, 1735689600LL, 1751328000LL, 1767225600LL, 1782864000LL},
     {1719806400LL, 1735707600LL, 1751342400LL, 1767243600LL, 1782878400LL},
     {1735686000LL, 1751320800LL, 1767222000LL, 1782856800LL, 1798758000LL}},
    {"0 0 1 */3 *",
     {1711929600LL, 1719792000LL, 1727740800LL, 1735689600LL, 1743465600LL},
     {1711944000LL, 1719806400LL, 1727755200LL, 1735707600LL, 1743480000LL},
     {1735686000LL, 1743458400LL, 1751320800LL, 1759269600LL, 1767222000LL}},
    {"1-59/3 * * * *",
     {1709072160LL, 1709072340LL, 1709072520LL, 1709072700LL, 1709072880LL},
     {1709985660LL, 1709985840LL, 1709986020LL, 1709986200LL, 1709986380LL},
     {1729944060LL, 1729944240LL, 1729944420LL, 1729944600LL, 1729944780LL}},
    {"2-59/10 * * * *",
     {1709072520LL, 1709073120LL, 1709073720LL, 1709074320LL, 1709074920LL},
     {1709985720LL, 1709986320LL, 1709986920LL, 1709987520LL, 1709988120LL},
     {1729944120LL, 1729944720LL, 1729945320LL, 1729945920LL, 1729946520LL}},
    {"*/59 * * * *",
     {1709074740LL, 1709074800LL, 1709078340LL, 1709078400LL, 1709081940LL},
     {1709989140LL, 1709989200LL, 1709992740LL, 1709992800LL, 1709996340LL},
     {1729947540LL, 1729947600LL, 1729951140LL, 1729951200LL, 1729954740LL}},
    {"0 0 */2 * *",
     {1709164800LL, 1709251200LL, 1709424000LL, 1709596800LL, 1709769600LL},
     {1710129600LL, 1710302400LL, 1710475200LL, 1710648000LL, 1710820800LL},
     {1729980000LL, 1730156400LL, 1730329200LL, 1730415600LL, 1730588400LL}},
    {"10/20 * * * *",
     {1709073000LL, 1709074200LL, 1709075400LL, 1709076600LL, 1709077800LL},
     {1709986200LL, 1709987400LL, 1709988600LL, 1709989800LL, 1709991000LL},
     {1729944600LL, 1729945800LL, 1729947000LL, 1729948200LL, 1729949400LL}},
    {"0 22 * * 1-5",
     {1709157600LL, 1709244000LL, 1709330400LL, 1709589600LL, 1709676000LL},
     {1710208800LL, 1710295200LL, 1710381600LL, 1710468000LL, 1710554400LL},
     {1730149200LL, 1730235600LL, 1730322000LL, 1730408400LL, 1730494800LL}},
    {"5 4 * * sun",
     {1709438700LL, 1710043500LL, 1710648300LL, 1711253100LL, 1711857900LL},
     {1710057900LL, 1710662700LL, 1711267500LL, 1711872300LL, 1712477100LL},
     {1729998300LL, 1730603100LL, 1731207900LL, 1731812700LL, 1732417500LL}},
    {"0 0,12 1 */2 *",
     {1709251200LL, 1709294400LL, 1714521600LL, 1714564800LL, 1719792000LL},
     {1714536000LL, 1714579200LL, 1719806400LL, 1719849600LL, 1725163200LL},
     {1730415600LL, 1730458800LL, 1735686000LL, 1735729200LL, 1740783600LL}},
    {"0 4 8-14 * *",
     {1709870400LL, 1709956800LL, 1710043200LL, 1710129600LL, 1710216000LL},
     {1710057600LL, 1710144000LL, 1710230400LL, 1710316800LL, 1710403200LL},
     {1731034800LL, 1731121200LL, 1731207600LL, 1731294000LL, 1731380400LL}},
    {"0 0 * * 5L",
     {1711670400LL, 1714089600LL, 1717113600LL, 1719532800LL, 1721952000LL},
     {1711684800LL, 1714104000LL, 1717128000LL, 1719547200LL, 1721966400LL},
     {1732834800LL, 1735254000LL, 1738278000LL, 1740697200LL, 1743116400LL}},
    {"0 0 * * 1#1",
     {1709510400LL, 1711929600LL, 1714953600LL, 1717372800LL, 1719792000LL},
     {1711944000LL, 1714968000LL, 1717387200LL, 1719806400LL, 1722830400LL},
     {1730674800LL, 1733094000LL, 1736118000LL, 1738537200LL, 1740956400LL}},
    {"0 0 * * fri#3",
     {1710460800LL, 1713484800LL, 1715904000LL, 1718928000LL, 1721347200LL},
     {1710475200LL, 1713499200LL, 1715918400LL, 1718942400LL, 1721361600LL},
     {1731625200LL, 1734649200LL, 1737068400LL, 1740092400LL, 1742511600LL}},
    {"@yearly",
     {1735689600LL, 1767225600LL, 1798761600LL, 1830297600LL, 1861920000LL},
     {1735707600LL, 1767243600LL, 1798779600LL, 1830315600LL, 1861938000LL},
     {1735686000LL, 1767222000LL, 1798758000LL, 1830294000LL, 1861916400LL}},
    {"@monthly",
     {1709251200LL, 1711929600LL, 1714521600LL, 1717200000LL, 1719792000LL},
     {1711944000LL, 1714536000LL, 1717214400LL, 1719806400LL, 1722484800LL},
     {1730415600LL, 1733007600LL, 1735686000LL, 1738364400LL, 1740783600LL}},
    {"@weekly",
     {1709424000LL, 1710028800LL, 1710633600LL, 1711238400LL, 1711843200LL},
     {1710046800LL, 1710648000LL, 1711252800LL, 1711857600LL, 1712462400LL},
     {1729980000LL, 1730588400LL, 1731193200LL, 1731798000LL, 1732402800LL}},
    {"@daily",
     {1709078400LL, 1709164800LL, 1709251200LL, 1709337600LL, 1709424000LL},
     {1710046800LL, 1710129600LL, 1710216000LL, 1710302400LL, 1710388800LL},
     {1729980000LL, 1730070000LL, 1730156400LL, 1730242800LL, 1730329200LL}},
    {"@hourly",
     {1709074800LL, 1709078400LL, 1709082000LL, 1709085600LL, 1709089200LL},
     {1709989200LL, 1709992800LL, 1709996400LL, 1710000000LL, 1710003600LL},
     {1729947600LL, 1729951200LL, 1729954800LL, 1729958400LL, 1729962000LL}},
    {"0 3 * * *",
     {1709089200LL, 1709175600LL, 1709262000LL, 1709348400LL, 1709434800LL},
     {1710054000LL, 1710140400LL, 1710226800LL, 1710313200LL, 1710399600LL},
     {1729994400LL, 1730080800LL, 1730167200LL, 1730253600LL, 1730340000LL}},
    {"59 23 31 12 *",
     {1735689540LL, 1767225540LL, 1798761540LL, 1830297540LL, 1861919940LL},
     {1735707540LL, 1767243540LL, 1798779540LL, 1830315540LL, 1861937940LL},
     {1735685940LL, 1767221940LL, 1798757940LL, 1830293940LL, 1861916340LL}},
    {"0 0 29 2 1",
     {1709164800LL, 1738540800LL, 1739145600LL, 1739750400LL, 1740355200LL},
     {1738558800LL, 1739163600LL, 1739768400LL, 1740373200LL, 1770008400LL},
     {1738537200LL, 1739142000LL, 1739746800LL, 1740351600LL, 1769986800LL}},
    {"*/30 9-17 * * mon-fri",
     {1709110800LL, 1709112600LL, 1709114400LL, 1709116200LL, 1709118000LL},
     {1710162000LL, 1710163800LL, 1710165600LL, 1710167400LL, 1710169200LL},
     {1730102400LL, 1730104200LL, 1730106000LL, 1730107800LL, 1730109600LL}},
    {"45 23 * * 6",
     {1709423100LL, 1710027900LL, 1710632700LL, 1711237500LL, 1711842300LL},
     {1710045900LL, 1710647100LL, 1711251900LL, 1711856700LL, 1712461500LL},
     {1729979100LL, 1730587500LL, 1731192300LL, 1731797100LL, 1732401900LL}},
    {"0 0 ? * 1",
     {1709510400LL, 1710115200LL, 1710720000LL, 1711324800LL, 1711929600LL},
     {1710129600LL, 1710734400LL, 1711339200LL, 1711944000LL, 1712548800LL},
     {1730070000LL, 1730674800LL, 1731279600LL, 1731884400LL, 1732489200LL}},
    {"*/10 * * * * *",
     {1709072020LL, 1709072030LL, 1709072040LL, 1709072050LL, 1709072060LL},
     {1709985610LL, 1709985620LL, 1709985630LL, 1709985640LL, 1709985650LL},
     {1729944010LL, 1729944020LL, 1729944030LL, 1729944040LL, 1729944050LL}},
    {"30 0 12 * * *",
     {1709121630LL, 1709208030LL, 1709294430LL, 1709380830LL, 1709467230LL},
     {1710003630LL, 1710086430LL, 1710172830LL, 1710259230LL, 1710345630LL},
     {1730026830LL, 1730113230LL, 1730199630LL, 1730286030LL, 1730372430LL}},
    {"0 30 2 * * *",
     {1709087400LL, 1709173800LL, 1709260200LL, 1709346600LL, 1709433000LL},
     {1710054000LL, 1710138600LL, 1710225000LL, 1710311400LL, 1710397800LL},
     {1729989000LL, 1730079000LL, 1730165400LL, 1730251800LL, 1730338200LL}},
};

/* DST transitions up close: next 5 from half an hour before each. */
struct dst_row {
    const char *expr;
    const char *zone;
    int64_t from;
    int64_t next[5];
};

static const struct dst_row dst_rows[] = {
    {"0 * * * *", "America/New_York", 1710048600LL,
     {1710050400LL, 1710054000LL, 1710057600LL, 1710061200LL, 1710064800LL}},
    {"0 * * * *", "America/New_York", 1730608200LL,
     {1730610000LL, 1730613600LL, 1730617200LL, 1730620800LL, 1730624400LL}},
    {"0 * * * *", "Europe/Berlin", 1711845000LL,
     {1711846800LL, 1711850400LL, 1711854000LL, 1711857600LL, 1711861200LL}},
    {"0 * * * *", "Europe/Berlin", 1729989000LL,
     {1729990800LL, 1729994400LL, 1729998000LL, 1730001600LL, 1730005200LL}},
    {"30 * * * *", "America/New_York", 1710048600LL,
     {1710052200LL, 1710055800LL, 1710059400LL, 1710063000LL, 1710066600LL}},
    {"30 * * * *", "America/New_York", 1730608200LL,
     {1730611800LL, 1730615400LL, 1730619000LL, 1730622600LL, 1730626200LL}},
    {"30 * * * *", "Europe/Berlin", 1711845000LL,
     {1711848600LL, 1711852200LL, 1711855800LL, 1711859400LL, 1711863000LL}},
    {"30 * * * *", "Europe/Berlin", 1729989000LL,
     {1729992600LL, 1729996200LL, 1729999800LL, 1730003400LL, 1730007000LL}},
    {"*/30 * * * *", "America/New_York", 1710048600LL,
     {1710050400LL, 1710052200LL, 1710054000LL, 1710055800LL, 1710057600LL}},
    {"*/30 * * * *", "America/New_York", 1730608200LL,
     {1730610000LL, 1730611800LL, 1730613600LL, 1730615400LL, 1730617200LL}},
    {"*/30 * * * *", "Europe/Berlin", 1711845000LL,
     {1711846800LL, 1711848600LL, 1711850400LL, 1711852200LL, 1711854000LL}},
    {"*/30 * * * *", "Europe/Berlin", 1729989000LL,
     {1729990800LL, 1729992600LL, 1729994400LL, 1729996200LL, 1729998000LL}},
    {"30 2 * * *", "America/New_York", 1710048600LL,
     {1710054000LL, 1710138600LL, 1710225000LL, 1710311400LL, 1710397800LL}},
    {"30 2 * * *", "America/New_York", 1730608200LL,
     {1730619000LL, 1730705400LL, 1730791800LL, 1730878200LL, 1730964600LL}},
    {"30 2 * * *", "Europe/Berlin", 1711845000LL,
     {1711846800LL, 1711931400LL, 1712017800LL, 1712104200LL, 1712190600LL}},
    {"30 2 * * *", "Europe/Berlin", 1729989000LL,
     {1730079000LL, 1730165400LL, 1730251800LL, 1730338200LL, 1730424600LL}},
    {"30 1 * * *", "America/New_York", 1710048600LL,
     {1710052200LL, 1710135000LL, 1710221400LL, 1710307800LL, 1710394200LL}},
    {"30 1 * * *", "America/New_York", 1730608200LL,
     {1730611800LL, 1730701800LL, 1730788200LL, 1730874600LL, 1730961000LL}},
    {"30 1 * * *", "Europe/Berlin", 1711845000LL,
     {1711927800LL, 1712014200LL, 1712100600LL, 1712187000LL, 1712273400LL}},
    {"30 1 * * *", "Europe/Berlin", 1729989000LL,
     {1730075400LL, 1730161800LL, 1730248200LL, 1730334600LL, 1730421000LL}},
    {"0 2 * * *", "America/New_York", 1710048600LL,
     {1710054000LL, 1710136800LL, 1710223200LL, 1710309600LL, 1710396000LL}},
    {"0 2 * * *", "America/New_York", 1730608200LL,
     {1730617200LL, 1730703600LL, 1730790000LL, 1730876400LL, 1730962800LL}},
    {"0 2 * * *", "Europe/Berlin", 1711845000LL,
     {1711846800LL, 1711929600LL, 1712016000LL, 1712102400LL, 1712188800LL}},
    {"0 2 * * *", "Europe/Berlin", 1729989000LL,
     {1730077200LL, 1730163600LL, 1730250000LL, 1730336400LL, 1730422800LL}},
    {"*/20 2 * * *", "America/New_York", 1710048600LL,
     {1710054000LL, 1710136800LL, 1710138000LL, 1710139200LL, 1710223200LL}},
    {"*/20 2 * * *", "America/New_York", 1730608200LL,
     {1730617200LL, 1730618400LL, 1730619600LL, 1730703600LL, 1730704800LL}},
    {"*/20 2 * * *", "Europe/Berlin", 1711845000LL,
     {1711846800LL, 1711929600LL, 1711930800LL, 1711932000LL, 1712016000LL}},
    {"*/20 2 * * *", "Europe/Berlin", 1729989000LL,
     {1729989600LL, 1730077200LL, 1730078400LL, 1730079600LL, 1730163600LL}},
    {"15 1-3 * * *", "America/New_York", 1710048600LL,
     {1710051300LL, 1710054000LL, 1710054900LL, 1710134100LL, 1710137700LL}},
    {"15 1-3 * * *", "America/New_York", 1730608200LL,
     {1730610900LL, 1730618100LL, 1730621700LL, 1730700900LL, 1730704500LL}},
    {"15 1-3 * * *", "Europe/Berlin", 1711845000LL,
     {1711846800LL, 1711847700LL, 1711926900LL, 1711930500LL, 1711934100LL}},
    {"15 1-3 * * *", "Europe/Berlin", 1729989000LL,
     {1729995300LL, 1730074500LL, 1730078100LL, 1730081700LL, 1730160900LL}},
    {"0 */2 * * *", "America/New_York", 1710048600LL,
     {1710057600LL, 1710064800LL, 1710072000LL, 1710079200LL, 1710086400LL}},
    {"0 */2 * * *", "America/New_York", 1730608200LL,
     {1730617200LL, 1730624400LL, 1730631600LL, 1730638800LL, 1730646000LL}},
    {"0 */2 * * *", "Europe/Berlin", 1711845000LL,
     {1711850400LL, 1711857600LL, 1711864800LL, 1711872000LL, 1711879200LL}},
    {"0 */2 * * *", "Europe/Berlin", 1729989000LL,
     {1729990800LL, 1729998000LL, 1730005200LL, 1730012400LL, 1730019600LL}},
    {"0 30 2 * * *", "America/New_York", 1710048600LL,
     {1710054000LL, 1710138600LL, 1710225000LL, 1710311400LL, 1710397800LL}},
    {"0 30 2 * * *", "America/New_York", 1730608200LL,
     {1730619000LL, 1730705400LL, 1730791800LL, 1730878200LL, 1730964600LL}},
    {"0 30 2 * * *", "Europe/Berlin", 1711845000LL,
     {1711846800LL, 1711931400LL, 1712017800LL, 1712104200LL, 1712190600LL}},
    {"0 30 2 * * *", "Europe/Berlin", 1729989000LL,
     {1730079000LL, 1730165400LL, 1730251800LL, 1730338200LL, 1730424600LL}},
    {"*/45 1 * * *", "America/New_York", 1710048600LL,
     {1710050400LL, 1710053100LL, 1710133200LL, 1710135900LL, 1710219600LL}},
    {"*/45 1 * * *", "America/New_York", 1730608200LL,
     {1730610000LL, 1730612700LL, 1730700000LL, 1730702700LL, 1730786400LL}},
    {"*/45 1 * * *", "Europe/Berlin", 1711845000LL,
     {1711845900LL, 1711926000LL, 1711928700LL, 1712012400LL, 1712015100LL}},
    {"*/45 1 * * *", "Europe/Berlin", 1729989000LL,
     {1730073600LL, 1730076300LL, 1730160000LL, 1730162700LL, 1730246400LL}},
    {"0 1,2 * * *", "America/New_York", 1710048600LL,
     {1710050400LL, 1710054000LL, 1710133200LL, 1710136800LL, 1710219600LL}},
    {"0 1,2 * * *", "America/New_York", 1730608200LL,
     {1730610000LL, 1730617200LL, 1730700000LL, 1730703600LL, 1730786400LL}},
    {"0 1,2 * * *", "Europe/Berlin", 1711845000LL,
     {1711846800LL, 1711926000LL, 1711929600LL, 1712012400LL, 1712016000LL}},
    {"0 1,2 * * *", "Europe/Berlin", 1729989000LL,
     {1730073600LL, 1730077200LL, 1730160000LL, 1730163600LL, 1730246400LL}},
};

static const char *
iso_s(int64_t s, char *buf)
{
    return sq_time_format_iso8601(s * 1000, buf, 40);
}

/* The next 5 after `from` are `want`; and the previous of each is the
 * one before it (prev and next agree). */
static void
check_next5(const char *expr, const char *zn, int64_t from,
            const int64_t want[5])
{
    struct sq_cron *c = parse_ok(expr);
    const struct sq_tz *z = zone(zn);
    int64_t t = from, x;
    char a[40], b[40];

    for (int i = 0; i < 5; i++) {
        if (sq_cron_next(c, z, t, &x) != SYNCQ_OK) {
            fail_msg("'%s' in %s: no next after %s", expr, zn, iso_s(t, a));
        }
        if (x != want[i]) {
            fail_msg("'%s' in %s: fire %d after %s is %s, want %s", expr, zn,
                     i + 1, iso_s(t, a), iso_s(x, b), iso_s(want[i], b + 0));
        }
        t = x;
    }
    for (int i = 1; i < 5; i++) {
        if (sq_cron_prev(c, z, want[i], &x) != SYNCQ_OK || x != want[i - 1]) {
            fail_msg("'%s' in %s: previous of %s is %s, want %s", expr, zn,
                     iso_s(want[i], a), iso_s(x, b), iso_s(want[i - 1], b));
        }
    }
    sq_cron_free(c);
}

static void
table_has_forty_expressions(void **state)
{
    (void)state;
    assert_true(sizeof rows / sizeof rows[0] >= 40);
}

static void
table_utc(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_next5(rows[i].expr, "UTC", F1, rows[i].utc);
    }
}

static void
table_new_york(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_next5(rows[i].expr, "America/New_York", F2, rows[i].ny);
    }
}

static void
table_berlin(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_next5(rows[i].expr, "Europe/Berlin", F3, rows[i].berlin);
    }
}

static void
table_dst_transitions(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof dst_rows / sizeof dst_rows[0]; i++) {
        check_next5(dst_rows[i].expr, dst_rows[i].zone, dst_rows[i].from,
                    dst_rows[i].next);
    }
}
/* C12: autumn DST, a fixed-time job runs once per day. */
static void
c12_fall_back_fixed_time_runs_once(void **state)
{
    int64_t f[8];
    int n;

    (void)state;
    /* New York, 2024-11-02 12:00 local .. 2024-11-04 12:00 local */
    n = fires_between("0 17 * * *", "America/New_York", 1730563200LL,
                      1730739600LL, f, 8);
    assert_int_equal(n, 2);
    assert_int_equal(f[0], 1730581200LL); /* 2024-11-02T21:00Z */
    assert_int_equal(f[1], 1730671200LL); /* 2024-11-03T22:00Z */
    /* Amsterdam, Mondays 08:00, from 2017-10-23 09:00 local */
    n = fires_between("0 8 * * 1", "Europe/Amsterdam", 1508742000LL,
                      1510617600LL, f, 8);
    assert_int_equal(n, 3);
    assert_int_equal(f[0], 1509346800LL); /* 2017-10-30T07:00Z */
    assert_int_equal(f[1], 1509951600LL); /* 2017-11-06T07:00Z */
    assert_int_equal(f[2], 1510556400LL); /* 2017-11-13T07:00Z */
    /* and never at 07:00 local */
    for (int i = 0; i < 3; i++) {
        struct tm tm;
        sq_tz_to_local(zone("Europe/Amsterdam"), f[i], &tm);
        assert_int_equal(tm.tm_hour, 8);
    }
}

/* C14: spring DST. */
static void
c14_spring_forward(void **state)
{
    int64_t f[8];
    int n;

    (void)state;
    /* A: New York 16:04 daily across 2025-03-08 .. 2025-03-10 */
    n = fires_between("4 16 * * *", "America/New_York", 1741392000LL,
                      1741651200LL, f, 8);
    assert_int_equal(n, 3);
    assert_int_equal(f[0], 1741467840LL); /* 2025-03-08T21:04Z (EST) */
    assert_int_equal(f[1], 1741550640LL); /* 2025-03-09T20:04Z (EDT) */
    assert_int_equal(f[2], 1741637040LL); /* 2025-03-10T20:04Z */
    /* B: Berlin, Sundays 12:00, from 2022-03-24 12:00 local */
    n = fires_between("0 12 * * 0", "Europe/Berlin", 1648119600LL + 1,
                      1648119600LL + 7 * 86400, f, 8);
    assert_int_equal(n, 1);
    assert_int_equal(f[0], 1648375200LL); /* 2022-03-27T10:00Z */
    /* C: Berlin 02:30 does not exist on 2022-03-27: exactly one run, at
     * the first valid instant after it (03:00 CEST = 01:00Z). */
    n = fires_between("30 2 * * *", "Europe/Berlin", 1648335600LL,
                      1648418400LL, f, 8);
    assert_int_equal(n, 1);
    assert_int_equal(f[0], 1648342800LL);
    /* and the days around it are normal */
    n = fires_between("30 2 * * *", "Europe/Berlin", 1648249200LL,
                      1648508400LL, f, 8);
    assert_int_equal(n, 3);
    assert_int_equal(f[0], 1648258200LL); /* 03-26 01:30Z (CET) */
    assert_int_equal(f[2], 1648427400LL); /* 03-28 00:30Z (CEST) */
}

/* Hour wildcards and steps keep running every real hour through DST. */
static void
hour_wildcards_run_every_real_hour(void **state)
{
    int64_t f[32];
    int n;

    (void)state;
    /* New York fall back 2024-11-03: 00:00 .. 04:00 local, 5 real hours */
    n = fires_between("0 * * * *", "America/New_York", 1730606400LL,
                      1730624400LL, f, 32);
    assert_int_equal(n, 5);
    for (int i = 1; i < n; i++) {
        assert_int_equal(f[i] - f[i - 1], 3600);
    }
    /* the same hours with a fixed hour list: 01:00 once */
    n = fires_between("0 0,1,2,3 * * *", "America/New_York", 1730606400LL,
                      1730624400LL, f, 32);
    assert_int_equal(n, 4);
    /* spring forward 2024-03-10: 02:00 does not exist; every real hour */
    n = fires_between("0 * * * *", "America/New_York", 1710046800LL,
                      1710061200LL, f, 32);
    assert_int_equal(n, 4);
    for (int i = 1; i < n; i++) {
        assert_int_equal(f[i] - f[i - 1], 3600);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_has_forty_expressions),
        cmocka_unit_test(table_utc),
        cmocka_unit_test(table_new_york),
        cmocka_unit_test(table_berlin),
        cmocka_unit_test(table_dst_transitions),
        cmocka_unit_test(c12_fall_back_fixed_time_runs_once),
        cmocka_unit_test(c14_spring_forward),
        cmocka_unit_test(hour_wildcards_run_every_real_hour),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The oracle (Python 3.11, zoneinfo), run as
 *   python3 oracle.py exprs.txt   (one expression per line)
 *
 * # Independent oracle for tests/unit/test_cron.c: its own cron parser and a
 * # brute-force search over real instants (minute steps, seconds inside a
 * # matching minute) with Python's zoneinfo. DST policy (Vixie): a civil time
 * # skipped by a spring-forward gap fires at the transition instant unless the
 * # hour field is * or a step; in a fall-back repeat (fold=1) a job fires again
 * # only if its hour field is * or a step.
 * import sys
 * from datetime import datetime, timedelta, timezone
 * from zoneinfo import ZoneInfo
 *
 * MON = {n: i + 1 for i, n in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}
 * DOW = {n: i for i, n in enumerate("sun mon tue wed thu fri sat".split())}
 * MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
 *           "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
 *           "@hourly": "0 * * * *"}
 * SPEC = {"sec": (0, 59, None), "min": (0, 59, None), "hour": (0, 23, None),
 *         "dom": (1, 31, None), "mon": (1, 12, MON), "dow": (0, 7, DOW)}
 *
 * def val(s, names):
 *     if names and s.lower() in names:
 *         return names[s.lower()]
 *     return int(s)
 *
 * def field(text, kind, c):
 *     lo, hi, names = SPEC[kind]
 *     top = 6 if kind == "dow" else hi
 *     out = set()
 *     for item in text.split(","):
 *         if kind == "dom" and item.upper().startswith("L"):
 *             c["dom_last"] = int(item[2:]) if item.startswith("L-") else 0
 *             continue
 *         if kind == "dow" and item.upper().endswith("L"):
 *             c["dow_last"].add(val(item[:-1], names) % 7)
 *             continue
 *         if kind == "dow" and "#" in item:
 *             d, k = item.split("#")
 *             c["dow_nth"].add((val(d, names) % 7, int(k)))
 *             continue
 *         step, stepped = 1, "/" in item
 *         if stepped:
 *             item, st = item.split("/")
 *             step = int(st)
 *         if item in ("*", "?"):
 *             a, b = lo, top
 *         elif "-" in item:
 *             a, b = (val(x, names) for x in item.split("-"))
 *             if kind == "dow" and b == 0 and a > 0:
 *                 b = 7
 *         else:
 *             a = val(item, names)
 *             b = (7 if kind == "dow" else hi) if stepped else a
 *         for v in range(a, b + 1, step):
 *             out.add(v % 7 if kind == "dow" else v)
 *     return out
 *
 * def parse(expr):
 *     expr = MACROS.get(expr.strip(), expr)
 *     f = expr.split()
 *     c = {"dom_last": None, "dow_last": set(), "dow_nth": set()}
 *     kinds = ["min", "hour", "dom", "mon", "dow"]
 *     if len(f) == 6:
 *         kinds = ["sec"] + kinds
 *     else:
 *         c["sec"] = {0}
 *     for k, t in zip(kinds, f):
 *         c[k] = field(t, k, c)
 *     dom_t, dow_t, hour_t = f[-3], f[-1], f[-4]
 *     c["dom_star"] = dom_t[0] in "*?"
 *     c["dow_star"] = dow_t[0] in "*?"
 *     c["hour_wild"] = hour_t[0] == "*" or "/" in hour_t
 *     return c
 *
 * def mdays(y, m):
 *     return ((datetime(y + (m == 12), m % 12 + 1, 1) - datetime(y, m, 1)).days)
 *
 * def day_ok(c, d):
 *     md = mdays(d.year, d.month)
 *     wd = (d.weekday() + 1) % 7
 *     dom_ok = d.day in c["dom"] or (c["dom_last"] is not None and d.day == md - c["dom_last"])
 *     dow_ok = wd in c["dow"] or (wd in c["dow_last"] and d.day + 7 > md) or \
 *         ((wd, (d.day - 1) // 7 + 1) in c["dow_nth"])
 *     if d.month not in c["mon"]:
 *         return False
 *     if c["dom_star"] or c["dow_star"]:
 *         return dom_ok and dow_ok
 *     return dom_ok or dow_ok
 *
 * def minute_ok(c, L):
 *     return day_ok(c, L) and L.hour in c["hour"] and L.minute in c["min"]
 *
 * def nxt(expr, zone, after, count):
 *     c = parse(expr)
 *     Z = ZoneInfo(zone)
 *     out = []
 *     t = after - after % 60  # minute containing `after`
 *     while len(out) < count:
 *         L = datetime.fromtimestamp(t, Z)
 *         if not day_ok(c, L) and t > after:
 *             # jump close to the next local midnight (3 h early to be safe)
 *             nd = (L.replace(tzinfo=None) + timedelta(days=1)).replace(hour=0, minute=0, second=0)
 *             nt = int(nd.replace(tzinfo=Z).timestamp()) - 3 * 3600
 *             prev = datetime.fromtimestamp(t - 60, Z).replace(tzinfo=None)
 *             gap = (L.replace(tzinfo=None) - prev) > timedelta(minutes=1)
 *             if nt > t and not gap:
 *                 t = nt - nt % 60
 *                 continue
 *         Lp = datetime.fromtimestamp(t - 60, Z)
 *         civ, civp = L.replace(tzinfo=None), Lp.replace(tzinfo=None)
 *         fired = []
 *         if minute_ok(c, L) and not (L.fold == 1 and not c["hour_wild"]):
 *             fired = [t + s for s in sorted(c["sec"])]
 *         skipped = civ - civp - timedelta(minutes=1)
 *         if skipped > timedelta(0) and not c["hour_wild"]:
 *             m = civp + timedelta(minutes=1)
 *             while m < civ:
 *                 if minute_ok(c, m):
 *                     fired = sorted(set(fired) | {t})
 *                     break
 *                 m += timedelta(minutes=1)
 *         for x in fired:
 *             if x > after and len(out) < count:
 *                 out.append(x)
 *         t += 60
 *     return out
 *
 * if __name__ == "__main__":
 *     F1, F2, F3 = 1709072017, 1709985600, 1729944000  # see test_cron.c
 *     exprs = [l.rstrip("\n") for l in open(sys.argv[1])]
 *     for e in exprs:
 *         a = nxt(e, "UTC", F1, 5)
 *         b = nxt(e, "America/New_York", F2, 5)
 *         d = nxt(e, "Europe/Berlin", F3, 5)
 *         print('    {"%s",\n     {%s},\n     {%s},\n     {%s}},' % (
 *             e, ", ".join("%dLL" % x for x in a), ", ".join("%dLL" % x for x in b),
 *             ", ".join("%dLL" % x for x in d)))
 *
 * def dst_rows():
 *     exprs = ["0 * * * *", "30 * * * *", "*\/30 * * * *", "30 2 * * *", "30 1 * * *",
 *              "0 2 * * *", "*\/20 2 * * *", "15 1-3 * * *", "0 *\/2 * * *", "0 30 2 * * *",
 *              "*\/45 1 * * *", "0 1,2 * * *"]
 *     starts = [("America/New_York", 1710048600), ("America/New_York", 1730608200),
 *               ("Europe/Berlin", 1711845000), ("Europe/Berlin", 1729989000)]
 *     for e in exprs:
 *         for z, f in starts:
 *             a = nxt(e, z, f, 5)
 *             print('    {"%s", "%s", %dLL, {%s}},' % (e, z, f, ", ".join("%dLL" % x for x in a)))
 */
