"""Places the simulator posts jobs to, and how `LocationName` + `Radius` resolve against them.

`PLACES` is a hand-written table of public facts: US cities (with their state names), a few
US territories and a dozen foreign duty stations, with approximate coordinates and a weight
(how often jobs land there). No city lies between 45 and 55 miles of Chicago, so the demo
search (Chicago, 50 mi) has no boundary cases that depend on the Earth radius a client uses.

`SYNTHETIC_PLACES` are made-up towns ("Cedarbrook, Ohio") generated from a fixed seed, for
nationwide postings with hundreds of distinct locations (`SimulatorConfig(locations="real")`):
each lies between two listed cities of its state or within 25 miles of one, in the 48
contiguous states or Alaska, more than 60 miles from Chicago, with a name no listed city
has. `ALL_PLACES` is `PLACES` followed by them, so an index into `PLACES` is the same index
into `ALL_PLACES`.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

__all__ = [
    "ALL_PLACES",
    "CHICAGO",
    "EARTH_RADIUS_MILES",
    "PLACES",
    "STATE_ABBREVIATIONS",
    "SYNTHETIC_PLACES",
    "Place",
    "haversine_miles",
    "resolve_location",
]

EARTH_RADIUS_MILES = 3958.8
UNITED_STATES = "United States"


@dataclass(frozen=True, slots=True)
class Place:
    """A duty location: `region` is a state/territory name at home, the country name abroad."""

    city: str
    region: str
    country: str
    lat: float
    lon: float
    weight: float

    @property
    def name(self) -> str:
        """The API's "City, State" (or "City, Country") label."""
        return f"{self.city}, {self.region}"

    @property
    def domestic(self) -> bool:
        """True for the US and its territories (the API gives them a CountrySubDivisionCode)."""
        return self.country == UNITED_STATES


STATE_ABBREVIATIONS: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan",
    "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
    "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota",
    "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee",
    "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming", "PR": "Puerto Rico",
    "GU": "Guam", "VI": "Virgin Islands", "AS": "American Samoa",
}  # fmt: skip

# (city, state or territory, latitude, longitude, weight)
_DOMESTIC: tuple[tuple[str, str, float, float, float], ...] = (
    # Chicago area: all within 45 miles of the Loop.
    ("Chicago", "Illinois", 41.8781, -87.6298, 4.0),
    ("Evanston", "Illinois", 42.0451, -87.6877, 0.3),
    ("Skokie", "Illinois", 42.0324, -87.7416, 0.2),
    ("Des Plaines", "Illinois", 42.0334, -87.8834, 0.3),
    ("Arlington Heights", "Illinois", 42.0884, -87.9806, 0.2),
    ("Schaumburg", "Illinois", 42.0334, -88.0834, 0.3),
    ("Elgin", "Illinois", 42.0354, -88.2826, 0.2),
    ("Hines", "Illinois", 41.8542, -87.8370, 0.6),
    ("Oak Brook", "Illinois", 41.8328, -87.9290, 0.2),
    ("Downers Grove", "Illinois", 41.8089, -88.0112, 0.2),
    ("Lisle", "Illinois", 41.8011, -88.0748, 0.2),
    ("Naperville", "Illinois", 41.7508, -88.1535, 0.3),
    ("Aurora", "Illinois", 41.7606, -88.3201, 0.2),
    ("Batavia", "Illinois", 41.8500, -88.3126, 0.3),
    ("Lemont", "Illinois", 41.6736, -88.0017, 0.4),
    ("Bolingbrook", "Illinois", 41.6986, -88.0684, 0.2),
    ("Joliet", "Illinois", 41.5250, -88.0817, 0.3),
    ("Orland Park", "Illinois", 41.6303, -87.8539, 0.2),
    ("North Chicago", "Illinois", 42.3256, -87.8412, 0.5),
    ("Waukegan", "Illinois", 42.3636, -87.8448, 0.2),
    ("Hammond", "Indiana", 41.5834, -87.5000, 0.2),
    ("Gary", "Indiana", 41.5934, -87.3464, 0.2),
    ("Crown Point", "Indiana", 41.4170, -87.3653, 0.2),
    # Midwest, more than 55 miles from Chicago.
    ("Racine", "Wisconsin", 42.7261, -87.7829, 0.2),
    ("Milwaukee", "Wisconsin", 43.0389, -87.9065, 1.0),
    ("Madison", "Wisconsin", 43.0731, -89.4012, 0.8),
    ("Rockford", "Illinois", 42.2711, -89.0940, 0.4),
    ("Peoria", "Illinois", 40.6936, -89.5890, 0.4),
    ("Springfield", "Illinois", 39.7817, -89.6501, 0.6),
    ("Champaign", "Illinois", 40.1164, -88.2434, 0.3),
    ("Rock Island", "Illinois", 41.5095, -90.5787, 0.6),
    ("Belleville", "Illinois", 38.5201, -89.9840, 0.5),
    ("South Bend", "Indiana", 41.6764, -86.2520, 0.3),
    ("Indianapolis", "Indiana", 39.7684, -86.1581, 1.5),
    ("Fort Wayne", "Indiana", 41.0793, -85.1394, 0.4),
    ("Detroit", "Michigan", 42.3314, -83.0458, 1.5),
    ("Ann Arbor", "Michigan", 42.2808, -83.7430, 0.6),
    ("Grand Rapids", "Michigan", 42.9634, -85.6681, 0.4),
    ("Battle Creek", "Michigan", 42.3212, -85.1797, 0.5),
    ("Lansing", "Michigan", 42.7325, -84.5555, 0.3),
    ("Minneapolis", "Minnesota", 44.9778, -93.2650, 1.2),
    ("Saint Paul", "Minnesota", 44.9537, -93.0900, 0.6),
    ("Rochester", "Minnesota", 44.0121, -92.4802, 0.3),
    ("Des Moines", "Iowa", 41.5868, -93.6250, 0.6),
    ("Iowa City", "Iowa", 41.6611, -91.5302, 0.4),
    ("Omaha", "Nebraska", 41.2565, -95.9345, 0.8),
    ("Lincoln", "Nebraska", 40.8136, -96.7026, 0.4),
    ("Kansas City", "Missouri", 39.0997, -94.5786, 1.5),
    ("Saint Louis", "Missouri", 38.6270, -90.1994, 1.5),
    ("Columbia", "Missouri", 38.9517, -92.3341, 0.3),
    ("Fort Leonard Wood", "Missouri", 37.7051, -92.1535, 0.4),
    ("Topeka", "Kansas", 39.0473, -95.6752, 0.4),
    ("Wichita", "Kansas", 37.6872, -97.3301, 0.4),
    ("Leavenworth", "Kansas", 39.3111, -94.9225, 0.4),
    ("Columbus", "Ohio", 39.9612, -82.9988, 1.2),
    ("Cleveland", "Ohio", 41.4993, -81.6944, 1.0),
    ("Cincinnati", "Ohio", 39.1031, -84.5120, 0.8),
    ("Dayton", "Ohio", 39.7589, -84.1916, 1.5),
    ("Toledo", "Ohio", 41.6528, -83.5379, 0.3),
    ("Louisville", "Kentucky", 38.2527, -85.7585, 0.8),
    ("Lexington", "Kentucky", 38.0406, -84.5037, 0.5),
    ("Fort Knox", "Kentucky", 37.8911, -85.9636, 0.5),
    ("Fargo", "North Dakota", 46.8772, -96.7898, 0.3),
    ("Bismarck", "North Dakota", 46.8083, -100.7837, 0.3),
    ("Sioux Falls", "South Dakota", 43.5446, -96.7311, 0.3),
    ("Rapid City", "South Dakota", 44.0805, -103.2310, 0.3),
    # Northeast and Mid-Atlantic.
    ("Washington", "District of Columbia", 38.9072, -77.0369, 12.0),
    ("Arlington", "Virginia", 38.8816, -77.0910, 3.0),
    ("Alexandria", "Virginia", 38.8048, -77.0469, 2.0),
    ("Fort Belvoir", "Virginia", 38.7119, -77.1459, 1.0),
    ("Quantico", "Virginia", 38.5221, -77.2936, 1.0),
    ("Reston", "Virginia", 38.9586, -77.3570, 0.6),
    ("Richmond", "Virginia", 37.5407, -77.4360, 0.8),
    ("Norfolk", "Virginia", 36.8508, -76.2859, 2.0),
    ("Virginia Beach", "Virginia", 36.8529, -75.9780, 0.6),
    ("Hampton", "Virginia", 37.0299, -76.3452, 0.8),
    ("Bethesda", "Maryland", 38.9847, -77.0947, 2.5),
    ("Silver Spring", "Maryland", 38.9907, -77.0261, 1.0),
    ("Gaithersburg", "Maryland", 39.1434, -77.2014, 0.6),
    ("Greenbelt", "Maryland", 39.0046, -76.8755, 0.6),
    ("Suitland", "Maryland", 38.8487, -76.9225, 0.8),
    ("Fort Meade", "Maryland", 39.1086, -76.7433, 1.0),
    ("Baltimore", "Maryland", 39.2904, -76.6122, 1.5),
    ("Woodlawn", "Maryland", 39.3229, -76.7280, 0.8),
    ("Aberdeen Proving Ground", "Maryland", 39.4668, -76.1300, 0.6),
    ("Patuxent River", "Maryland", 38.2773, -76.4230, 0.5),
    ("Philadelphia", "Pennsylvania", 39.9526, -75.1652, 1.5),
    ("Pittsburgh", "Pennsylvania", 40.4406, -79.9959, 0.8),
    ("Harrisburg", "Pennsylvania", 40.2732, -76.8867, 0.4),
    ("Mechanicsburg", "Pennsylvania", 40.2143, -77.0086, 0.5),
    ("New York", "New York", 40.7128, -74.0060, 2.5),
    ("Brooklyn", "New York", 40.6782, -73.9442, 0.6),
    ("Albany", "New York", 42.6526, -73.7562, 0.5),
    ("Buffalo", "New York", 42.8864, -78.8784, 0.5),
    ("Syracuse", "New York", 43.0481, -76.1474, 0.4),
    ("West Point", "New York", 41.3915, -73.9560, 0.4),
    ("Newark", "New Jersey", 40.7357, -74.1724, 0.6),
    ("Trenton", "New Jersey", 40.2206, -74.7597, 0.3),
    ("Picatinny Arsenal", "New Jersey", 40.9495, -74.5449, 0.4),
    ("Boston", "Massachusetts", 42.3601, -71.0589, 1.5),
    ("Bedford", "Massachusetts", 42.4906, -71.2760, 0.5),
    ("Providence", "Rhode Island", 41.8240, -71.4128, 0.4),
    ("Newport", "Rhode Island", 41.4901, -71.3128, 0.4),
    ("Hartford", "Connecticut", 41.7658, -72.6734, 0.4),
    ("Groton", "Connecticut", 41.3501, -72.0787, 0.4),
    ("Portsmouth", "New Hampshire", 43.0718, -70.7626, 0.4),
    ("Manchester", "New Hampshire", 42.9956, -71.4548, 0.2),
    ("Burlington", "Vermont", 44.4759, -73.2121, 0.2),
    ("Portland", "Maine", 43.6591, -70.2568, 0.3),
    ("Augusta", "Maine", 44.3106, -69.7795, 0.2),
    ("Wilmington", "Delaware", 39.7391, -75.5398, 0.3),
    ("Dover", "Delaware", 39.1582, -75.5244, 0.3),
    ("Charleston", "West Virginia", 38.3498, -81.6326, 0.3),
    ("Martinsburg", "West Virginia", 39.4562, -77.9639, 0.4),
    ("Clarksburg", "West Virginia", 39.2806, -80.3445, 0.3),
    # South.
    ("Atlanta", "Georgia", 33.7490, -84.3880, 2.5),
    ("Columbus", "Georgia", 32.4610, -84.9877, 0.6),
    ("Savannah", "Georgia", 32.0809, -81.0912, 0.4),
    ("Augusta", "Georgia", 33.4735, -82.0105, 0.5),
    ("Warner Robins", "Georgia", 32.6130, -83.6242, 0.6),
    ("Jacksonville", "Florida", 30.3322, -81.6557, 1.0),
    ("Miami", "Florida", 25.7617, -80.1918, 1.0),
    ("Tampa", "Florida", 27.9506, -82.4572, 0.8),
    ("Orlando", "Florida", 28.5383, -81.3792, 0.6),
    ("Pensacola", "Florida", 30.4213, -87.2169, 0.5),
    ("Tallahassee", "Florida", 30.4383, -84.2807, 0.3),
    ("Cape Canaveral", "Florida", 28.3922, -80.6077, 0.4),
    ("Charlotte", "North Carolina", 35.2271, -80.8431, 0.6),
    ("Raleigh", "North Carolina", 35.7796, -78.6382, 0.6),
    ("Durham", "North Carolina", 35.9940, -78.8986, 0.5),
    ("Fayetteville", "North Carolina", 35.0527, -78.8784, 0.8),
    ("Asheville", "North Carolina", 35.5951, -82.5515, 0.3),
    ("Columbia", "South Carolina", 34.0007, -81.0348, 0.5),
    ("Charleston", "South Carolina", 32.7765, -79.9311, 0.6),
    ("Nashville", "Tennessee", 36.1627, -86.7816, 0.8),
    ("Memphis", "Tennessee", 35.1495, -90.0490, 0.6),
    ("Knoxville", "Tennessee", 35.9606, -83.9207, 0.4),
    ("Oak Ridge", "Tennessee", 36.0104, -84.2696, 0.4),
    ("Birmingham", "Alabama", 33.5186, -86.8104, 0.5),
    ("Huntsville", "Alabama", 34.7304, -86.5861, 1.5),
    ("Montgomery", "Alabama", 32.3668, -86.3000, 0.5),
    ("Mobile", "Alabama", 30.6954, -88.0399, 0.4),
    ("Jackson", "Mississippi", 32.2988, -90.1848, 0.4),
    ("Biloxi", "Mississippi", 30.3960, -88.8853, 0.4),
    ("New Orleans", "Louisiana", 29.9511, -90.0715, 0.8),
    ("Baton Rouge", "Louisiana", 30.4515, -91.1871, 0.3),
    ("Shreveport", "Louisiana", 32.5252, -93.7502, 0.3),
    ("Little Rock", "Arkansas", 34.7465, -92.2896, 0.5),
    ("Oklahoma City", "Oklahoma", 35.4676, -97.5164, 1.5),
    ("Tulsa", "Oklahoma", 36.1540, -95.9928, 0.4),
    ("Lawton", "Oklahoma", 34.6036, -98.3959, 0.4),
    ("Dallas", "Texas", 32.7767, -96.7970, 1.5),
    ("Fort Worth", "Texas", 32.7555, -97.3308, 0.8),
    ("Houston", "Texas", 29.7604, -95.3698, 1.5),
    ("San Antonio", "Texas", 29.4241, -98.4936, 2.5),
    ("Austin", "Texas", 30.2672, -97.7431, 0.8),
    ("El Paso", "Texas", 31.7619, -106.4850, 1.5),
    ("Killeen", "Texas", 31.1171, -97.7278, 0.8),
    ("Temple", "Texas", 31.0982, -97.3428, 0.4),
    ("Corpus Christi", "Texas", 27.8006, -97.3964, 0.4),
    ("Laredo", "Texas", 27.5306, -99.4803, 0.4),
    ("McAllen", "Texas", 26.2034, -98.2300, 0.4),
    # West.
    ("Denver", "Colorado", 39.7392, -104.9903, 1.5),
    ("Lakewood", "Colorado", 39.7047, -105.0814, 0.8),
    ("Aurora", "Colorado", 39.7294, -104.8319, 0.5),
    ("Colorado Springs", "Colorado", 38.8339, -104.8214, 1.0),
    ("Fort Collins", "Colorado", 40.5853, -105.0844, 0.4),
    ("Salt Lake City", "Utah", 40.7608, -111.8910, 0.8),
    ("Ogden", "Utah", 41.2230, -111.9738, 0.6),
    ("Albuquerque", "New Mexico", 35.0844, -106.6504, 0.8),
    ("Santa Fe", "New Mexico", 35.6870, -105.9378, 0.3),
    ("Los Alamos", "New Mexico", 35.8800, -106.3031, 0.3),
    ("Phoenix", "Arizona", 33.4484, -112.0740, 1.2),
    ("Tucson", "Arizona", 32.2226, -110.9747, 0.8),
    ("Flagstaff", "Arizona", 35.1983, -111.6513, 0.3),
    ("Yuma", "Arizona", 32.6927, -114.6277, 0.4),
    ("Las Vegas", "Nevada", 36.1699, -115.1398, 0.6),
    ("Reno", "Nevada", 39.5296, -119.8138, 0.3),
    ("Boise", "Idaho", 43.6150, -116.2023, 0.5),
    ("Idaho Falls", "Idaho", 43.4917, -112.0339, 0.3),
    ("Helena", "Montana", 46.5891, -112.0391, 0.3),
    ("Missoula", "Montana", 46.8721, -113.9940, 0.4),
    ("Billings", "Montana", 45.7833, -108.5007, 0.3),
    ("Cheyenne", "Wyoming", 41.1400, -104.8202, 0.3),
    ("Seattle", "Washington", 47.6062, -122.3321, 1.5),
    ("Tacoma", "Washington", 47.2529, -122.4443, 0.8),
    ("Bremerton", "Washington", 47.5673, -122.6326, 0.6),
    ("Spokane", "Washington", 47.6588, -117.4260, 0.4),
    ("Richland", "Washington", 46.2857, -119.2845, 0.3),
    ("Vancouver", "Washington", 45.6387, -122.6615, 0.4),
    ("Portland", "Oregon", 45.5152, -122.6784, 1.0),
    ("Salem", "Oregon", 44.9429, -123.0351, 0.3),
    ("Eugene", "Oregon", 44.0521, -123.0868, 0.3),
    ("San Francisco", "California", 37.7749, -122.4194, 1.2),
    ("Oakland", "California", 37.8044, -122.2712, 0.5),
    ("San Jose", "California", 37.3382, -121.8863, 0.4),
    ("Moffett Field", "California", 37.4153, -122.0483, 0.4),
    ("Sacramento", "California", 38.5816, -121.4944, 0.8),
    ("Monterey", "California", 36.6002, -121.8947, 0.4),
    ("Fresno", "California", 36.7378, -119.7871, 0.4),
    ("Los Angeles", "California", 34.0522, -118.2437, 1.5),
    ("Long Beach", "California", 33.7701, -118.1937, 0.4),
    ("Riverside", "California", 33.9806, -117.3755, 0.4),
    ("Ridgecrest", "California", 35.6225, -117.6709, 0.4),
    ("San Diego", "California", 32.7157, -117.1611, 2.0),
    ("Anchorage", "Alaska", 61.2181, -149.9003, 0.6),
    ("Fairbanks", "Alaska", 64.8378, -147.7164, 0.3),
    ("Juneau", "Alaska", 58.3019, -134.4197, 0.3),
    ("Honolulu", "Hawaii", 21.3069, -157.8583, 1.2),
    ("Hilo", "Hawaii", 19.7297, -155.0900, 0.2),
    # Territories: CountryCode stays "United States", the territory is the subdivision.
    ("San Juan", "Puerto Rico", 18.4655, -66.1057, 0.5),
    ("Hagatna", "Guam", 13.4443, 144.7937, 0.3),
    ("Saint Thomas", "Virgin Islands", 18.3381, -64.8941, 0.15),
    ("Pago Pago", "American Samoa", -14.2756, -170.7020, 0.1),
)

# (city, country, latitude, longitude, weight): no subdivision in the API abroad.
_FOREIGN: tuple[tuple[str, str, float, float, float], ...] = (
    ("Stuttgart", "Germany", 48.7758, 9.1829, 1.0),
    ("Kaiserslautern", "Germany", 49.4401, 7.7491, 1.0),
    ("Wiesbaden", "Germany", 50.0782, 8.2398, 0.6),
    ("Vicenza", "Italy", 45.5455, 11.5354, 0.5),
    ("Naples", "Italy", 40.8518, 14.2681, 0.6),
    ("Rota", "Spain", 36.6177, -6.3500, 0.4),
    ("London", "United Kingdom", 51.5074, -0.1278, 0.5),
    ("Brussels", "Belgium", 50.8503, 4.3517, 0.4),
    ("Warsaw", "Poland", 52.2297, 21.0122, 0.3),
    ("Manama", "Bahrain", 26.2285, 50.5860, 0.4),
    ("Yokosuka", "Japan", 35.2813, 139.6722, 0.8),
    ("Okinawa", "Japan", 26.2124, 127.6809, 0.6),
    ("Seoul", "South Korea", 37.5665, 126.9780, 0.6),
    ("Singapore", "Singapore", 1.3521, 103.8198, 0.3),
    ("Brasilia", "Brazil", -15.7939, -47.8828, 0.2),
    ("Ottawa", "Canada", 45.4215, -75.6972, 0.2),
)

PLACES: tuple[Place, ...] = tuple(
    Place(city, state, UNITED_STATES, lat, lon, weight)
    for city, state, lat, lon, weight in _DOMESTIC
) + tuple(
    Place(city, country, country, lat, lon, weight) for city, country, lat, lon, weight in _FOREIGN
)

CHICAGO: Place = PLACES[0]

_SPACES = re.compile(r"\s+")

# Name parts of the synthetic towns: "Cedar" + "brook" -> "Cedarbrook", "Fox" + " Hollow".
_TOWN_STEMS = (
    "Ash", "Aspen", "Bay", "Bear", "Beech", "Birch", "Black", "Blue", "Brook", "Cedar",
    "Clay", "Clear", "Copper", "Crystal", "Deer", "Eagle", "Elk", "Elm", "Fair", "Fern",
    "Fox", "Glen", "Granite", "Green", "Hawk", "Hazel", "Hickory", "High", "Holly", "Iron",
    "Juniper", "Lake", "Laurel", "Linden", "Locust", "Maple", "Meadow", "Mill", "Mulberry",
    "Oak", "Orchard", "Owl", "Pebble", "Pine", "Poplar", "Prairie", "Quail", "Raven", "Red",
    "Ridge", "River", "Rock", "Rose", "Sage", "Sand", "Silver", "Spring", "Spruce", "Stone",
    "Sugar", "Summit", "Sycamore", "Thorn", "Timber", "Walnut", "Willow", "Wolf", "Wren",
)  # fmt: skip
_TOWN_ENDINGS = (
    "brook", "burg", "dale", "field", "ford", "haven", "ton", "ville", "wood", "mont",
    " Bluff", " Creek", " Crossing", " Falls", " Flats", " Grove", " Heights", " Hollow",
    " Junction", " Landing", " Mills", " Park", " Point", " Prairie", " Springs", " Valley",
)  # fmt: skip
_SYNTHETIC_COUNT = 1400
# Islands (an offset could land in the sea) and the District (no room for more towns).
_SKIPPED_REGIONS = frozenset(
    {"Hawaii", "Puerto Rico", "Guam", "Virgin Islands", "American Samoa", "District of Columbia"}
)
_MILES_PER_DEGREE = 69.0


def _offset(lat: float, lon: float, miles: float, bearing: float) -> tuple[float, float]:
    """A point `miles` away in direction `bearing` (radians; flat-Earth, fine below ~50 mi)."""
    dlat = miles * math.cos(bearing) / _MILES_PER_DEGREE
    dlon = miles * math.sin(bearing) / (_MILES_PER_DEGREE * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def _near_chicago(place: Place) -> bool:
    return haversine_miles(CHICAGO.lat, CHICAGO.lon, place.lat, place.lon) <= 60.0


def _synthetic_places() -> tuple[Place, ...]:
    rng = random.Random("tasman-sim:geo:synthetic-places")  # noqa: S311 - not crypto
    by_state: dict[str, list[Place]] = {}
    for place in PLACES:
        if place.domestic and place.region not in _SKIPPED_REGIONS and not _near_chicago(place):
            by_state.setdefault(place.region, []).append(place)
    # States with more listed cities get more towns: one turn per listed city.
    turns = [state for state in sorted(by_state) for _ in by_state[state]]
    taken = {_norm(p.city) for p in PLACES}
    names: set[tuple[str, str]] = set()
    out: list[Place] = []
    while len(out) < _SYNTHETIC_COUNT:
        state = turns[len(out) % len(turns)]
        anchors = by_state[state]
        a = rng.choice(anchors)
        b = rng.choice(anchors)
        if a is b:
            lat, lon = _offset(a.lat, a.lon, rng.uniform(5.0, 25.0), rng.uniform(0, 2 * math.pi))
        else:
            t = rng.uniform(0.15, 0.85)
            lat, lon = a.lat + (b.lat - a.lat) * t, a.lon + (b.lon - a.lon) * t
            lat, lon = _offset(lat, lon, rng.uniform(0.0, 8.0), rng.uniform(0, 2 * math.pi))
        city = rng.choice(_TOWN_STEMS) + rng.choice(_TOWN_ENDINGS)
        if _norm(city) in taken or (city, state) in names:
            continue
        if _near_chicago(Place(city, state, UNITED_STATES, lat, lon, 0.0)):
            continue  # keeps the demo radius (Chicago, 50 mi) to the hand-written table
        names.add((city, state))
        out.append(Place(city, state, UNITED_STATES, round(lat, 4), round(lon, 4), 0.05))
    return tuple(out)


def haversine_miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in statute miles (Earth radius 3,958.8 mi)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlam = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(a)))


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text.strip().lower())


SYNTHETIC_PLACES: tuple[Place, ...] = _synthetic_places()
ALL_PLACES: tuple[Place, ...] = PLACES + SYNTHETIC_PLACES


def _build_index() -> tuple[dict[str, Place], dict[str, list[Place]]]:
    by_name: dict[str, Place] = {}
    by_city: dict[str, list[Place]] = {}
    for place in ALL_PLACES:
        by_name[_norm(place.name)] = place
        by_city.setdefault(_norm(place.city), []).append(place)
    return by_name, by_city


_BY_NAME, _BY_CITY = _build_index()


def resolve_location(name: str) -> Place | None:
    """Resolve a `LocationName` such as "Chicago, Illinois" or "Chicago, IL" to a place.

    Matching ignores case and extra spaces; a two-letter state abbreviation is expanded; a
    bare city name resolves only when it is unique in the table. Unknown names give None.
    """
    text = _norm(name)
    if not text:
        return None
    if "," in text:
        city, _, region = text.partition(",")
        region = region.strip()
        expanded = STATE_ABBREVIATIONS.get(region.upper())
        if expanded is not None:
            region = expanded.lower()
        return _BY_NAME.get(f"{city.strip()}, {region}")
    candidates = _BY_CITY.get(text, [])
    return candidates[0] if len(candidates) == 1 else None
