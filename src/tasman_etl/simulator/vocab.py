"""Small hand-written tables of public facts the generator draws from.

Occupational series (with the job family and two weights: how common the series is among
ordinary postings and among data-engineering postings), hiring organizations (agency
sub-element codes as USAJOBS uses them), pay plans and the short code lists the API serves.
Weights are skewed but bounded: no series takes more than ~20% of any population, so a
broad query over 25,000 jobs never puts 10,000 in one `JobCategoryCode`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "COUNTRY_CODES",
    "DE_TITLE_SUFFIXES",
    "HIRING_PATHS",
    "MISSION_CRITICAL_CODES",
    "OFFERING_TYPES",
    "ORGS",
    "PAY_PLANS",
    "RATE_INTERVALS",
    "SCHEDULE_TYPES",
    "SECURITY_CLEARANCES",
    "SERIES",
    "SERVICE_TYPES",
    "TRAVEL_CODES",
    "Org",
    "Series",
    "org_affinity",
]


@dataclass(frozen=True, slots=True)
class Series:
    """An occupational series: code, name, family, weights and title pools."""

    code: str
    name: str
    general: float
    de: float
    titles: tuple[str, ...]
    de_titles: tuple[str, ...] = ()

    @property
    def family(self) -> str:
        """The job family code ("2200" for 2210)."""
        return self.code[:2] + "00"


# Generic titles never contain the word "data": only data-engineering postings do.
SERIES: tuple[Series, ...] = (
    Series(
        "0007",
        "Correctional Officer",
        2.5,
        0,
        ("Correctional Officer", "Senior Officer Specialist"),
    ),
    Series(
        "0018",
        "Safety and Occupational Health Management",
        1.0,
        0,
        ("Safety and Occupational Health Specialist", "Safety Manager"),
    ),
    Series(
        "0028",
        "Environmental Protection Specialist",
        1.0,
        0,
        ("Environmental Protection Specialist",),
    ),
    Series(
        "0080",
        "Security Administration",
        1.2,
        0,
        ("Security Specialist", "Physical Security Specialist", "Personnel Security Specialist"),
    ),
    Series("0083", "Police", 1.5, 0, ("Police Officer", "Supervisory Police Officer")),
    Series("0089", "Emergency Management Specialist", 0.8, 0, ("Emergency Management Specialist",)),
    Series(
        "0110",
        "Economist",
        0.8,
        1.5,
        ("Economist", "Research Economist"),
        ("Economist (Data Engineering)",),
    ),
    Series(
        "0132",
        "Intelligence",
        1.0,
        3.0,
        ("Intelligence Specialist", "Intelligence Analyst"),
        ("Intelligence Specialist (Data Engineering)", "Intelligence Analyst (Data Engineer)"),
    ),
    Series(
        "0201",
        "Human Resources Management",
        2.5,
        0.5,
        (
            "Human Resources Specialist",
            "HR Specialist (Recruitment and Placement)",
            "Human Resources Specialist (Classification)",
        ),
        ("Human Resources Specialist (Information Systems)",),
    ),
    Series(
        "0260", "Equal Employment Opportunity", 0.5, 0, ("Equal Employment Opportunity Specialist",)
    ),
    Series(
        "0301",
        "Miscellaneous Administration And Program",
        4.0,
        2.0,
        ("Program Specialist", "Administrative Specialist", "Program Manager"),
        ("Program Analyst (Data Engineering)", "Program Specialist (Data Platforms)"),
    ),
    Series(
        "0303",
        "Miscellaneous Clerk And Assistant",
        3.0,
        0,
        ("Program Support Assistant", "Office Automation Assistant", "Miscellaneous Clerk"),
    ),
    Series("0318", "Secretary", 1.2, 0, ("Secretary", "Secretary (Office Automation)")),
    Series(
        "0340",
        "Program Management",
        1.0,
        1.0,
        ("Program Manager", "Deputy Program Manager"),
        ("Program Manager (Data Platforms)",),
    ),
    Series("0341", "Administrative Officer", 1.0, 0, ("Administrative Officer",)),
    Series(
        "0343",
        "Management And Program Analysis",
        3.5,
        5.0,
        ("Management and Program Analyst", "Management Analyst", "Program Analyst"),
        ("Management and Program Analyst (Data Engineering)", "Program Analyst (Data Engineer)"),
    ),
    Series("0346", "Logistics Management", 1.2, 0, ("Logistics Management Specialist",)),
    Series(
        "0401",
        "General Natural Resources Management And Biological Sciences",
        1.0,
        1.0,
        ("Biologist", "Natural Resource Specialist"),
        ("Biologist (Data Engineering)",),
    ),
    Series("0460", "Forestry", 1.0, 0, ("Forester",)),
    Series(
        "0462",
        "Forestry Technician",
        2.0,
        0,
        ("Forestry Technician (Fire Engine)", "Forestry Technician (Handcrew)"),
    ),
    Series(
        "0501",
        "Financial Administration And Program",
        1.5,
        2.0,
        ("Financial Management Specialist", "Financial Analyst"),
        ("Financial Systems Analyst (Data Engineering)",),
    ),
    Series(
        "0511",
        "Auditing",
        1.0,
        1.0,
        ("Auditor", "Supervisory Auditor"),
        ("Auditor (Data Analytics Engineering)",),
    ),
    Series("0560", "Budget Analysis", 1.5, 0, ("Budget Analyst", "Supervisory Budget Analyst")),
    Series(
        "0602",
        "Medical Officer",
        3.0,
        0,
        ("Physician (Primary Care)", "Medical Officer", "Physician (Hospitalist)"),
    ),
    Series(
        "0610",
        "Nurse",
        6.5,
        0,
        (
            "Registered Nurse",
            "Nurse Practitioner",
            "Clinical Nurse",
            "Registered Nurse (Emergency)",
        ),
    ),
    Series("0620", "Practical Nurse", 1.5, 0, ("Licensed Practical Nurse",)),
    Series("0644", "Clinical Laboratory Science", 0.8, 0, ("Medical Technologist",)),
    Series("0660", "Pharmacist", 1.0, 0, ("Pharmacist", "Clinical Pharmacist Practitioner")),
    Series(
        "0679",
        "Medical Support Assistance",
        3.5,
        0,
        ("Medical Support Assistant", "Medical Support Assistant (OA)"),
    ),
    Series(
        "0801",
        "General Engineering",
        2.0,
        5.0,
        ("General Engineer", "Interdisciplinary Engineer"),
        ("General Engineer (Data Engineering)",),
    ),
    Series(
        "0810",
        "Civil Engineering",
        1.5,
        0.5,
        ("Civil Engineer", "Civil Engineer (Structural)"),
        ("Civil Engineer (Data Engineering)",),
    ),
    Series("0830", "Mechanical Engineering", 1.2, 0, ("Mechanical Engineer",)),
    Series(
        "0850",
        "Electrical Engineering",
        1.0,
        1.0,
        ("Electrical Engineer",),
        ("Electrical Engineer (Data Engineering)",),
    ),
    Series(
        "0854",
        "Computer Engineering",
        0.8,
        7.0,
        ("Computer Engineer",),
        ("Computer Engineer (Data Engineering)", "Computer Engineer (Data Platforms)"),
    ),
    Series(
        "0855",
        "Electronics Engineering",
        1.0,
        2.0,
        ("Electronics Engineer",),
        ("Electronics Engineer (Data Engineering)",),
    ),
    Series("0856", "Electronics Technical", 1.0, 0, ("Electronics Technician",)),
    Series("0905", "Attorney", 1.5, 0, ("Attorney-Advisor", "Trial Attorney")),
    Series("0950", "Paralegal Specialist", 0.8, 0, ("Paralegal Specialist",)),
    Series("0962", "Contact Representative", 1.5, 0, ("Contact Representative",)),
    Series("1035", "Public Affairs", 0.8, 0, ("Public Affairs Specialist",)),
    Series(
        "1102",
        "Contracting",
        3.5,
        0,
        ("Contract Specialist", "Supervisory Contract Specialist", "Procurement Analyst"),
    ),
    Series(
        "1301",
        "General Physical Science",
        0.8,
        2.0,
        ("Physical Scientist",),
        ("Physical Scientist (Data Engineering)",),
    ),
    Series("1320", "Chemistry", 0.6, 0, ("Chemist",)),
    Series(
        "1340", "Meteorology", 0.4, 1.0, ("Meteorologist",), ("Meteorologist (Data Engineering)",)
    ),
    Series(
        "1515",
        "Operations Research",
        0.6,
        5.0,
        ("Operations Research Analyst",),
        ("Operations Research Analyst (Data Engineering)",),
    ),
    Series(
        "1530",
        "Statistics",
        0.6,
        7.0,
        ("Statistician", "Mathematical Statistician"),
        ("Statistician (Data Engineering)", "Mathematical Statistician (Data Engineer)"),
    ),
    Series(
        "1550",
        "Computer Science",
        0.6,
        10.0,
        ("Computer Scientist",),
        ("Computer Scientist (Data Engineering)", "Computer Scientist (Data Engineer)"),
    ),
    # "Data" is in the series name, so the series appears on data-engineering postings only.
    Series(
        "1560",
        "Data Science Series",
        0,
        10.0,
        (),
        ("Data Scientist", "Data Scientist (Data Engineering)", "Supervisory Data Scientist"),
    ),
    Series(
        "1701",
        "General Education And Training",
        0.8,
        0,
        ("Education Specialist", "Training Specialist"),
    ),
    Series("1750", "Instructional Systems", 0.5, 0, ("Instructional Systems Specialist",)),
    Series(
        "1801",
        "General Inspection, Investigation, Enforcement, And Compliance Series",
        1.5,
        0,
        ("Compliance Investigator", "Inspector"),
    ),
    Series("1811", "Criminal Investigation", 1.5, 0, ("Criminal Investigator", "Special Agent")),
    Series("1896", "Border Patrol Enforcement Series", 1.5, 0, ("Border Patrol Agent",)),
    Series("1910", "Quality Assurance", 0.6, 0, ("Quality Assurance Specialist",)),
    Series("2003", "Supply Program Management", 0.8, 0, ("Supply Program Manager",)),
    Series("2010", "Inventory Management", 0.8, 0, ("Inventory Management Specialist",)),
    Series("2101", "Transportation Specialist", 0.6, 0, ("Transportation Specialist",)),
    Series(
        "2152",
        "Air Traffic Control",
        2.0,
        0,
        ("Air Traffic Control Specialist (Terminal)", "Air Traffic Control Specialist (Center)"),
    ),
    Series("2181", "Aircraft Operation", 0.6, 0, ("Aircraft Pilot",)),
    Series(
        "2210",
        "Information Technology Management",
        5.0,
        22.0,
        (
            "IT Specialist (INFOSEC)",
            "IT Specialist (SYSADMIN)",
            "IT Specialist (CUSTSPT)",
            "Information Technology Specialist (Network)",
            "IT Cybersecurity Specialist",
        ),
        (
            "IT Specialist (Data Management)",
            "IT Specialist (DATAMGT)",
            "Data Engineer",
            "IT Specialist (APPSW/Data Engineering)",
            "Information Technology Specialist (Data Engineer)",
        ),
    ),
    Series("2805", "Electrician", 1.0, 0, ("Electrician",)),
    Series("3806", "Sheet Metal Mechanic", 0.5, 0, ("Sheet Metal Mechanic",)),
    Series("4749", "Maintenance Mechanic", 2.0, 0, ("Maintenance Mechanic", "Maintenance Worker")),
    Series("5803", "Heavy Mobile Equipment Mechanic", 0.8, 0, ("Heavy Mobile Equipment Mechanic",)),
)

# Federal Wage System series: hourly pay (PH), pay plan WG.
WAGE_SERIES = frozenset({"2805", "3806", "4749", "5803"})

DE_TITLE_SUFFIXES: tuple[str, ...] = ("", "", "", " (Direct Hire)", " - Remote Eligible")


@dataclass(frozen=True, slots=True)
class Org:
    """A hiring organization (agency sub-element) and its department."""

    code: str
    name: str
    parent: str
    department: str
    acronym: str
    weight: float
    top: str  # first half of OrganizationCodes ("DD" for the military departments)

    @property
    def organization_codes(self) -> str:
        """The `OrganizationCodes` detail, e.g. "DD/ARCE"."""
        return f"{self.top}/{self.code}"

    @property
    def short(self) -> str:
        """Acronym when there is one, else the name."""
        return self.acronym or self.name


_ARMY, _AF, _NAVY, _DOD = (
    "Department of the Army",
    "Department of the Air Force",
    "Department of the Navy",
    "Department of Defense",
)
_VA, _HHS, _DHS = (
    "Department of Veterans Affairs",
    "Department of Health and Human Services",
    "Department of Homeland Security",
)
_OTHER = "Other Agencies and Independent Organizations"

ORGS: tuple[Org, ...] = (
    Org("VATA", "Veterans Health Administration", "VA", _VA, "VHA", 9.0, "VA"),
    Org("VALA", "Veterans Benefits Administration", "VA", _VA, "VBA", 2.5, "VA"),
    Org("ARCE", "U.S. Army Corps of Engineers", "AR", _ARMY, "USACE", 3.5, "DD"),
    Org("ARAE", "U.S. Army Acquisition Support Center", "AR", _ARMY, "", 1.5, "DD"),
    Org("AF1M", "Air Force Materiel Command", "AF", _AF, "", 3.5, "DD"),
    Org("NV24", "Naval Sea Systems Command", "NV", _NAVY, "NAVSEA", 3.5, "DD"),
    Org("NV25", "Naval Facilities Engineering Systems Command", "NV", _NAVY, "NAVFAC", 2.0, "DD"),
    Org("NV27", "U.S. Marine Corps", "NV", _NAVY, "", 2.0, "DD"),
    Org("DD07", "Defense Logistics Agency", "DD", _DOD, "DLA", 2.5, "DD"),
    Org("DD04", "Defense Information Systems Agency", "DD", _DOD, "DISA", 2.0, "DD"),
    Org("DD60", "Defense Health Agency", "DD", _DOD, "", 2.5, "DD"),
    Org("DD28", "National Security Agency/Central Security Service", "DD", _DOD, "NSA", 1.0, "DD"),
    Org("HE38", "National Institutes of Health", "HE", _HHS, "NIH", 2.5, "HE"),
    Org("HE39", "Centers for Disease Control and Prevention", "HE", _HHS, "CDC", 2.0, "HE"),
    Org("HE36", "Food and Drug Administration", "HE", _HHS, "FDA", 2.0, "HE"),
    Org("HE70", "Centers for Medicare & Medicaid Services", "HE", _HHS, "CMS", 1.5, "HE"),
    Org("HSBD", "Customs and Border Protection", "HS", _DHS, "CBP", 2.5, "HS"),
    Org("HSBC", "Transportation Security Administration", "HS", _DHS, "TSA", 2.0, "HS"),
    Org("HSCB", "Federal Emergency Management Agency", "HS", _DHS, "FEMA", 2.0, "HS"),
    Org("HSCA", "Cybersecurity and Infrastructure Security Agency", "HS", _DHS, "", 1.5, "HS"),
    Org("TR93", "Internal Revenue Service", "TR", "Department of the Treasury", "IRS", 3.5, "TR"),
    Org("TRFD", "Bureau of the Fiscal Service", "TR", "Department of the Treasury", "", 1.0, "TR"),
    Org(
        "TD03",
        "Federal Aviation Administration",
        "TD",
        "Department of Transportation",
        "FAA",
        3.0,
        "TD",
    ),
    Org("DJ02", "Federal Bureau of Investigation", "DJ", "Department of Justice", "FBI", 2.0, "DJ"),
    Org(
        "DJ03",
        "Justice, Bureau of Prisons/Federal Prison System",
        "DJ",
        "Department of Justice",
        "BOP",
        2.5,
        "DJ",
    ),
    Org("IN10", "National Park Service", "IN", "Department of the Interior", "NPS", 2.0, "IN"),
    Org(
        "IN15",
        "U.S. Fish and Wildlife Service",
        "IN",
        "Department of the Interior",
        "FWS",
        1.0,
        "IN",
    ),
    Org("AG11", "Forest Service", "AG", "Department of Agriculture", "FS", 2.5, "AG"),
    Org("CM63", "U.S. Census Bureau", "CM", "Department of Commerce", "USCB", 1.5, "CM"),
    Org(
        "CM57",
        "National Institute of Standards and Technology",
        "CM",
        "Department of Commerce",
        "NIST",
        1.0,
        "CM",
    ),
    Org(
        "CM54",
        "National Oceanic and Atmospheric Administration",
        "CM",
        "Department of Commerce",
        "NOAA",
        1.5,
        "CM",
    ),
    Org("DLLS", "Bureau of Labor Statistics", "DL", "Department of Labor", "BLS", 1.0, "DL"),
    Org(
        "NN00",
        "National Aeronautics and Space Administration",
        "NN",
        "National Aeronautics and Space Administration",
        "NASA",
        1.5,
        "NN",
    ),
    Org("DN00", "Department of Energy", "DN", "Department of Energy", "DOE", 1.5, "DN"),
    Org("SZ00", "Social Security Administration", "OT", _OTHER, "SSA", 2.0, "SZ"),
    Org(
        "GS00",
        "General Services Administration",
        "GS",
        "General Services Administration",
        "GSA",
        1.0,
        "GS",
    ),
)

# Department-level codes (the agencysubelements codelist lists them without a ParentCode).
DEPARTMENTS: dict[str, tuple[str, str]] = {
    "VA": (_VA, "VA"),
    "AR": (_ARMY, ""),
    "AF": (_AF, "AF"),
    "NV": (_NAVY, ""),
    "DD": (_DOD, "DOD"),
    "HE": (_HHS, "HHS"),
    "HS": (_DHS, "DHS"),
    "TR": ("Department of the Treasury", ""),
    "TD": ("Department of Transportation", "DOT"),
    "DJ": ("Department of Justice", "DOJ"),
    "IN": ("Department of the Interior", "DOI"),
    "AG": ("Department of Agriculture", "USDA"),
    "CM": ("Department of Commerce", "DOC"),
    "DL": ("Department of Labor", "DOL"),
    "NN": ("National Aeronautics and Space Administration", "NASA"),
    "DN": ("Department of Energy", "DOE"),
    "OT": (_OTHER, ""),
    "GS": ("General Services Administration", "GSA"),
}

# Which organizations a job family favours (multiplier on the org's base weight).
_AFFINITY: dict[str, dict[str, float]] = {
    "0000": {"DJ03": 8, "HSBD": 3, "HSCB": 4, "NV27": 2},
    "0100": {"DD28": 6, "DJ02": 3, "DLLS": 6, "CM63": 4},
    "0400": {"AG11": 8, "IN10": 6, "IN15": 8, "CM54": 3},
    "0600": {"VATA": 6, "DD60": 5, "HE38": 2},
    "0800": {"ARCE": 4, "NV24": 4, "NV25": 4, "AF1M": 3, "TD03": 3, "NN00": 4, "DN00": 3},
    "1300": {"CM54": 6, "CM57": 6, "NN00": 4, "DN00": 4, "HE36": 3},
    "1500": {"CM63": 5, "DLLS": 6, "HE39": 4, "HE38": 3, "DD28": 3},
    "1800": {"HSBD": 6, "DJ02": 6, "TR93": 3},
    "2100": {"TD03": 12},
    "2200": {"DD04": 5, "HSCA": 5, "TR93": 2, "GS00": 3, "SZ00": 2},
    "2800": {"NV24": 3, "AF1M": 3, "VATA": 2},
    "4700": {"NV24": 3, "AF1M": 3, "VATA": 2},
    "5800": {"DD07": 4, "NV27": 3},
}


def org_affinity(family: str, org: Org) -> float:
    """Weight of `org` for a job of `family`: base weight times the family's preference."""
    return org.weight * _AFFINITY.get(family, {}).get(org.code, 1.0)


# Pay plans used by the generator: code -> value (codelist `payplans`).
PAY_PLANS: dict[str, str] = {
    "GS": "General Schedule",
    "GG": "Grades similar to General Schedule",
    "FG": "FAA Core Compensation Pay Plan (General)",
    "FV": "FAA Core Compensation Pay Plan (Executive)",
    "WG": "Wage Grade (Federal Wage System)",
    "VM": "Medical and Dental (Veterans Health Administration)",
    "VN": "Nurses (Veterans Health Administration)",
    "ZP": "NIST Scientific and Engineering Professional",
    "ES": "Senior Executive Service",
    "AD": "Administratively Determined",
}

RATE_INTERVALS: tuple[tuple[str, str], ...] = (
    ("BW", "Bi-weekly"),
    ("FB", "Fee Basis"),
    ("PA", "Per Year"),
    ("PD", "Per Day"),
    ("PH", "Per Hour"),
    ("PM", "Per Month"),
    ("PW", "Piece Work"),
    ("ST", "Student Stipend Paid"),
    ("SY", "School Year"),
    ("WC", "Without Compensation"),
)

SCHEDULE_TYPES: tuple[tuple[str, str], ...] = (
    ("1", "Full-time"),
    ("2", "Part-time"),
    ("3", "Shift work"),
    ("4", "Intermittent"),
    ("5", "Job sharing"),
    ("6", "Multiple Schedules"),
)

OFFERING_TYPES: tuple[tuple[str, str], ...] = (
    ("15317", "Permanent"),
    ("15318", "Temporary"),
    ("15319", "Term"),
    ("15320", "Detail"),
    ("15321", "Temporary Promotion"),
    ("15322", "Seasonal"),
    ("15323", "Summer"),
    ("15324", "Presidential Management Fellows"),
    ("15326", "Recent Graduates"),
    ("15327", "Multiple Appointment Types"),
    ("15328", "Internships"),
    ("15522", "Intermittent"),
    ("15667", "ICTAP Only"),
    ("15668", "Agency Employees Only"),
    ("15669", "Telework"),
)

# (code, value, disabled): the API's codes are upper case, Search items carry them lower-cased.
HIRING_PATHS: tuple[tuple[str, str, bool], ...] = (
    ("DISABILITY", "Individuals with disabilities", False),
    ("FED", "Federal employees", True),
    ("FED-COMPETITIVE", "Federal employees - Competitive service", False),
    ("FED-EXCEPTED", "Federal employees - Excepted service", False),
    ("FED-INTERNAL-NOSEARCH", "Internal to an agency - does not appear on USAJOBS", False),
    ("FED-INTERNAL-SEARCH", "Internal to an agency - appears on USAJOBS", False),
    ("FED-TRANSITION", "Career transition (CTAP, ICTAP, RPL)", False),
    ("GRADUATES", "Recent graduates", False),
    ("LAND", "Land & base management", False),
    ("MSPOUSE", "Military spouses", False),
    ("NATIVE", "Native Americans", False),
    ("NGUARD", "National Guard & Reserves", False),
    ("NOPUBLIC", "Custom announcement", False),
    ("OVERSEAS", "Family of overseas employees", False),
    ("PEACE", "Peace Corps & AmeriCorps Vista", False),
    ("PUBLIC", "The public", False),
    ("SE-OTHER", "Senior executives - Other", True),
    ("SES", "Senior executives", False),
    ("SPECIAL-AUTHORITIES", "Special authorities", False),
    ("STUDENT", "Students", False),
    ("VET", "Veterans", False),
)

SERVICE_TYPES: tuple[tuple[str, str], ...] = (
    ("01", "Competitive"),
    ("02", "Excepted"),
    ("03", "Senior Executive"),
)

TRAVEL_CODES: tuple[tuple[str, str, bool], ...] = (
    ("0", "Not required", False),
    ("1", "Occasional travel", False),
    ("2", "25% or less", False),
    ("3", "50% or greater", True),
    ("5", "50% or less", False),
    ("7", "75% or less", False),
    ("8", "76% or greater", False),
)

SECURITY_CLEARANCES: tuple[tuple[str, str, bool], ...] = (
    ("0", "Not Required", False),
    ("1", "Confidential", False),
    ("2", "Secret", False),
    ("3", "Top Secret", False),
    ("4", "Sensitive Compartmented Information", False),
    ("5", "Q Access Authorization", False),
    ("7", "L Access Authorization", False),
    ("8", "Other", False),
    ("9", "Public Trust - Background Investigation", True),
)

MISSION_CRITICAL_CODES: tuple[tuple[str, str, bool], ...] = (
    ("01", "Cyber Security", False),
    ("02", "Data Scientist", False),
    ("03", "Economist", False),
    ("04", "Privacy", False),
    ("05", "Program/Project Management", False),
    ("06", "Grants Management", False),
    ("07", "STEM", False),
    ("08", "Intelligence", False),
    ("10", "Infrastructure Act", False),
)

# FIPS-style country codes of the countries the generator posts to (codelist `countries`).
COUNTRY_CODES: dict[str, str] = {
    "United States": "US",
    "Germany": "GM",
    "Italy": "IT",
    "Spain": "SP",
    "United Kingdom": "UK",
    "Belgium": "BE",
    "Poland": "PL",
    "Bahrain": "BA",
    "Japan": "JA",
    "South Korea": "KS",
    "Singapore": "SN",
    "Brazil": "BR",
    "Canada": "CA",
}
