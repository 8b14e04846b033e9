"""Original text pools for synthetic announcements.

Fields the simulator's `Keyword` search looks at (title, summary, duties, key requirements,
qualification summary) are built only from the pools marked *searchable*. Every searchable
pool except the `DE_*` ones avoids the word "data", so only postings generated as
data-engineering jobs match the demo keyword "data engineering"; a unit test guards this.
Long texts that Keyword ignores (education, benefits, ...) may say anything.
"""

from __future__ import annotations

__all__ = [
    "BENEFITS",
    "DE_DUTIES",
    "DE_OFFICES",
    "DE_SKILLS",
    "DE_SUMMARIES",
    "EDUCATION",
    "EVALUATIONS",
    "FAMILY_DUTIES",
    "FAMILY_SKILLS",
    "GENERIC_DUTIES",
    "HOW_TO_APPLY",
    "KEY_REQUIREMENTS",
    "MARKETING",
    "OFFICES",
    "OTHER_INFORMATION",
    "QUALIFICATION_EXTRAS",
    "REQUIRED_DOCUMENTS",
    "REQUIREMENTS",
    "SUB_AGENCY_SUFFIXES",
    "SUMMARY_EXTRAS",
    "SUMMARY_OPENERS",
    "WHAT_TO_EXPECT",
]

# --- searchable, data-engineering postings only ------------------------------------------

DE_SUMMARIES: tuple[str, ...] = (
    "The {org} is building a modern analytics platform and needs data engineering talent to "
    "move it from pilot to production.",
    "This position performs data engineering work for the {org}, turning raw operational "
    "records into reliable, well-documented data sets for analysts and leadership.",
    "Join the {org} team responsible for data engineering, integration and the pipelines "
    "that feed agency reporting.",
    "As part of the {org} modernization effort, you will apply data engineering practices to "
    "migrate legacy systems to a cloud data platform.",
    "The {org} seeks a specialist in data engineering to design ingestion, storage and "
    "quality controls for mission-critical data.",
    "You will lead data engineering tasks for the {org}, from source system analysis to "
    "automated, monitored data delivery.",
)

DE_OFFICES: tuple[str, ...] = (
    "Office of the Chief Data Officer",
    "Enterprise Data Office",
    "Analytics and Data Engineering Branch",
    "Data Platforms Division",
)

DE_DUTIES: tuple[str, ...] = (
    "Designs, builds and maintains data pipelines that ingest records from operational "
    "systems into the enterprise warehouse.",
    "Develops batch and streaming data engineering solutions using Python, SQL and managed "
    "cloud services.",
    "Models data for analytics, documents lineage and enforces quality checks on critical "
    "data sets.",
    "Automates extract, transform and load jobs and monitors their reliability, cost and "
    "performance.",
    "Partners with analysts and data scientists to deliver trusted, well-documented data products.",
    "Implements security, privacy and retention controls for sensitive data held on agency "
    "platforms.",
    "Evaluates emerging data engineering tools and recommends improvements to the agency's "
    "architecture.",
    "Tunes database queries and storage layouts so that dashboards and reports stay responsive.",
)

DE_SKILLS: tuple[str, ...] = (
    "building and operating data pipelines, modelling data for analytics and applying data "
    "engineering practices to production systems",
    "designing relational and columnar data stores, writing SQL and Python, and automating "
    "data quality checks",
    "integrating data from many sources with orchestration tools and documenting data "
    "lineage for other users",
)

# --- searchable, every posting (never the word "data") -----------------------------------

SUMMARY_OPENERS: tuple[str, ...] = (
    "This position is located in the {office} of the {org}.",
    "The {org} is recruiting for the position of {title} to support the {office}.",
    "In this {title} role with the {org}, you will support the work of the {office}.",
    "This {title} position serves the {office} and reports to its director.",
    "The {office} of the {org} is looking for an experienced {title}.",
)

SUMMARY_EXTRAS: tuple[str, ...] = (
    "Selectees may be considered for a recruitment incentive.",
    "Multiple vacancies may be filled from this announcement.",
    "This announcement may be used to fill additional vacancies within 90 days of the "
    "closing date.",
    "The position offers a flexible work schedule and room for professional growth.",
    "Applicants must meet all qualification requirements by the closing date.",
    "This is a developmental position with promotion potential to the full performance level.",
    "The incumbent works closely with program staff, contractors and stakeholders across the "
    "agency.",
    "Relocation expenses will not be paid.",
)

OFFICES: tuple[str, ...] = (
    "Office of the Chief Information Officer",
    "Field Operations Division",
    "Office of Management",
    "Regional Office",
    "Headquarters Staff",
    "Office of Acquisition",
    "Medical Center",
    "District Office",
    "Office of Human Capital",
    "Mission Support Directorate",
    "Office of Research and Development",
)

GENERIC_DUTIES: tuple[str, ...] = (
    "Plans, organizes and carries out assignments of moderate to high difficulty.",
    "Prepares written reports, briefings and correspondence for management.",
    "Coordinates work with other offices, contractors and outside partners.",
    "Reviews policies and procedures and recommends improvements.",
    "Serves as a point of contact for questions from employees and the public.",
)

FAMILY_DUTIES: dict[str, tuple[str, ...]] = {
    "0000": (
        "Maintains security and accountability of persons and property within assigned areas.",
        "Responds to emergencies and incidents and writes clear incident reports.",
        "Inspects facilities and equipment for safety hazards and compliance.",
        "Enforces laws, regulations and post orders with professionalism and courtesy.",
    ),
    "0100": (
        "Conducts research and analysis on economic, social or security trends.",
        "Prepares forecasts, assessments and briefings for senior officials.",
        "Develops research designs and reviews the methods used by other analysts.",
    ),
    "0200": (
        "Advises managers on recruitment, classification and staffing matters.",
        "Prepares vacancy announcements and evaluates applicant qualifications.",
        "Interprets personnel regulations and resolves complex employee cases.",
    ),
    "0300": (
        "Analyzes the efficiency and effectiveness of program operations.",
        "Tracks budgets, schedules and milestones for assigned programs.",
        "Drafts standard operating procedures and management reports.",
        "Provides administrative support including scheduling, records management and travel.",
    ),
    "0400": (
        "Conducts field surveys of wildlife, vegetation and habitat conditions.",
        "Participates in wildland fire suppression and prescribed burn operations.",
        "Prepares natural resource management plans and environmental assessments.",
    ),
    "0500": (
        "Formulates and executes budgets and monitors obligations and expenditures.",
        "Performs audits of financial statements, contracts and internal controls.",
        "Reconciles accounts and prepares financial reports in accordance with regulations.",
    ),
    "0600": (
        "Provides direct patient care consistent with the scope of practice and clinical "
        "privileges.",
        "Assesses, plans and evaluates care for veterans and other beneficiaries.",
        "Schedules appointments, verifies eligibility and maintains medical records.",
        "Collaborates with an interdisciplinary team to improve patient outcomes.",
    ),
    "0800": (
        "Performs engineering design, analysis and review for construction and maintenance "
        "projects.",
        "Develops technical specifications, cost estimates and engineering drawings.",
        "Provides engineering support for acquisition, testing and fielding of systems.",
        "Inspects work in progress for compliance with plans, codes and safety standards.",
    ),
    "0900": (
        "Provides legal advice on statutes, regulations and agency policy.",
        "Researches case law and drafts legal memoranda, briefs and opinions.",
        "Assists the public by phone and in writing with questions about benefits and accounts.",
    ),
    "1000": (
        "Writes news releases, web content and talking points for agency leaders.",
        "Plans outreach events and manages relationships with the media.",
    ),
    "1100": (
        "Performs pre-award and post-award contracting functions for complex acquisitions.",
        "Negotiates prices and terms and prepares contract documents and modifications.",
        "Conducts market research and advises program offices on acquisition strategies.",
    ),
    "1300": (
        "Conducts laboratory and field studies in the physical sciences.",
        "Prepares weather forecasts, warnings and technical briefings.",
        "Interprets results of chemical and physical analyses and writes technical reports.",
    ),
    "1500": (
        "Applies statistical methods to the design and analysis of surveys and experiments.",
        "Builds mathematical and simulation models to support decisions.",
        "Develops and tests algorithms and software for scientific computing problems.",
    ),
    "1700": (
        "Designs, delivers and evaluates training programs for agency employees.",
        "Develops instructional materials using adult learning principles.",
    ),
    "1800": (
        "Plans and conducts criminal investigations and presents cases for prosecution.",
        "Inspects goods, conveyances and persons entering the country.",
        "Patrols assigned areas to detect and prevent illegal entry and smuggling.",
    ),
    "1900": ("Performs quality assurance inspections of products and services.",),
    "2000": (
        "Manages supply, inventory and distribution programs.",
        "Monitors stock levels and coordinates requisitions and shipments.",
    ),
    "2100": (
        "Controls air traffic to ensure the safe, orderly and expeditious flow of aircraft.",
        "Plans and coordinates transportation of personnel and cargo.",
        "Pilots aircraft on missions in support of agency programs.",
    ),
    "2200": (
        "Administers servers, networks and cloud services and applies security patches.",
        "Provides tier two customer support and resolves complex service desk tickets.",
        "Implements cybersecurity controls and monitors systems for threats.",
        "Plans and manages IT projects from requirements through deployment.",
    ),
    "2800": ("Installs, maintains and repairs electrical systems and equipment.",),
    "3800": ("Fabricates, installs and repairs sheet metal parts and assemblies.",),
    "4700": (
        "Performs maintenance and repair on buildings, grounds and mechanical systems.",
        "Troubleshoots heating, ventilation and plumbing systems.",
    ),
    "5800": ("Diagnoses and repairs heavy mobile equipment such as cranes and bulldozers.",),
}

FAMILY_SKILLS: dict[str, str] = {
    "0000": "enforcing rules and procedures, handling emergencies and writing incident reports",
    "0100": "conducting research and analysis and presenting findings to decision makers",
    "0200": "applying human resources laws and regulations and advising managers",
    "0300": "analyzing programs, managing schedules and budgets and writing reports",
    "0400": "field work in natural resource management and applying scientific methods",
    "0500": "financial management, budgeting or auditing under federal accounting rules",
    "0600": "providing clinical care or patient support in a health care setting",
    "0800": "applying engineering principles to design, analysis and construction",
    "0900": "legal research, writing and advising on statutes and regulations",
    "1000": "writing for the public and managing communication programs",
    "1100": "performing the full range of contracting functions",
    "1300": "conducting scientific studies and interpreting technical results",
    "1500": "applying statistical, mathematical or computational methods to complex problems",
    "1700": "designing and delivering training programs",
    "1800": "investigation, inspection or enforcement work",
    "1900": "quality assurance inspection",
    "2000": "supply chain and inventory management",
    "2100": "aviation or transportation operations",
    "2200": "operating, securing and supporting information technology systems",
}

QUALIFICATION_EXTRAS: tuple[str, ...] = (
    "Your resume must show start and end dates and hours worked per week for each job.",
    "Education may be substituted for experience at some grade levels as described below.",
    "Part-time or unpaid experience is credited on the basis of time actually spent in "
    "qualifying work.",
    "Experience refers to paid and unpaid work, including volunteer work.",
)

KEY_REQUIREMENTS: tuple[str, ...] = (
    "U.S. Citizenship is required.",
    "Must be able to obtain and maintain a security clearance.",
    "Males born after 12/31/1959 must be registered with the Selective Service.",
    "A one-year probationary period may be required.",
    "Subject to a pre-employment drug screen.",
    "Must possess a valid state driver's license.",
    "Travel may be required up to 25% of the time.",
    "Must be able to pass a background investigation.",
)

# --- not searchable: anything goes ------------------------------------------------------

SUB_AGENCY_SUFFIXES: tuple[str, ...] = (
    "Headquarters",
    "Field Operations",
    "Central Region",
    "Pacific Region",
    "Northeast Region",
    "Southeast Region",
    "Great Lakes Region",
    "Mountain Region",
)

MARKETING: tuple[str, ...] = (
    "The {org} offers meaningful public service work, stable careers and a culture that "
    "values learning. Our people come from every background and every part of the country, "
    "and together we deliver services that millions of Americans rely on every day. If you "
    "want your work to matter, we want to hear from you.",
    "At the {org}, every role supports a mission that protects the nation and serves its "
    "people. We invest in our workforce through training, mentoring and flexible schedules, "
    "and we recognize great work. Bring your skills and grow your career with us.",
    "Working for the {org} means joining a team that solves hard problems at national scale. "
    "You will have access to modern tools, experienced colleagues and leaders who care about "
    "your development.",
    "",
    "The {org} is an equal opportunity employer committed to an inclusive workplace where "
    "every employee can contribute fully. We offer competitive pay, excellent benefits and "
    "the satisfaction of serving the public.",
)

EDUCATION: tuple[str, ...] = (
    "If you are using education to qualify, you must submit transcripts with your "
    "application. Unofficial transcripts are accepted at the time of application; official "
    "transcripts will be required if you are selected. Education must be from an "
    "institution accredited by an accrediting body recognized by the U.S. Department of "
    "Education. Education completed outside the United States must be evaluated by a "
    "private organization that specializes in the interpretation of foreign credentials.",
    "A bachelor's or higher degree in a field related to the position may substitute for "
    "experience at the entry grade. One full year of graduate study in a related field may "
    "substitute for specialized experience at the next grade, and a master's degree or two "
    "years of progressively higher graduate education at the grade after that. Combinations "
    "of education and experience may be used; divide your months of experience by twelve "
    "and your graduate semester hours by eighteen and add the two percentages.",
    "There is no substitution of education for experience at this grade level.",
    "This position has a positive education requirement. You must show completion of a "
    "degree program that included the coursework listed in the qualification standard, or "
    "a combination of coursework and experience that provided equivalent knowledge. Please "
    "list courses, credit hours and grades when they are not shown on your transcript.",
)

REQUIREMENTS: tuple[str, ...] = (
    "Conditions of employment: You must be a U.S. citizen or national. Males born after "
    "December 31, 1959 must be registered for Selective Service. You may be required to "
    "serve a one-year probationary period. Direct deposit of salary is required. You will "
    "be subject to a background investigation and your employment depends on a favorable "
    "result.",
    "Must be a U.S. citizen. Must be able to obtain and maintain a Secret clearance. Must "
    "complete a pre-employment physical and drug screening. Must be willing to travel and "
    "to work extended hours during emergencies.",
    "Selectees must complete a Declaration for Federal Employment (OF-306). Recent "
    "federal employees must provide their most recent performance appraisal. A financial "
    "disclosure statement may be required within thirty days of appointment.",
    "",
)

EVALUATIONS: tuple[str, ...] = (
    "Your application will be evaluated against the qualification requirements and the "
    "competencies listed below. Your answers to the assessment questionnaire must be "
    "supported by your resume; if your resume does not support your answers, your rating "
    "may be lowered. Qualified applicants will be placed in categories and referred to the "
    "hiring manager according to category rating procedures, with veterans' preference "
    "applied as required by law. Competencies: attention to detail, customer service, oral "
    "communication, problem solving and written communication.",
    "Once the announcement closes, human resources staff will review your resume, supporting "
    "documents and questionnaire responses to determine whether you meet the minimum "
    "qualifications. Well qualified applicants may be invited to a structured interview. "
    "Please follow all instructions carefully; errors or omissions may affect your rating.",
    "Applicants are rated on the extent and quality of experience, education and training "
    "relevant to the duties of the position. Ratings are based on the online assessment, "
    "which measures the knowledge, skills and abilities needed to do this job well.",
)

HOW_TO_APPLY: tuple[str, ...] = (
    "To apply, complete the online questionnaire and submit the documents listed under "
    "Required Documents. Your complete application must be received by 11:59 PM Eastern "
    "Time on {close}. Click Apply to begin, follow the prompts to register, answer the "
    "questions and upload your resume and other files. You can check the status of your "
    "application at any time in your USAJOBS account.",
    "Applications must be submitted online by the closing date, {close}. If you cannot apply "
    "online, contact the agency representative listed on this announcement before the "
    "closing date to arrange an alternative. Incomplete applications will not be "
    "considered.",
    "Review the announcement carefully and make sure your resume describes the experience "
    "that qualifies you. Submit everything by {close}; we do not accept documents after the "
    "announcement closes.",
)

WHAT_TO_EXPECT: tuple[str, ...] = (
    "After the announcement closes we will review your application and notify you of your "
    "status by email. If you are among the best qualified you may be referred to the hiring "
    "official and contacted for an interview. We expect to make a selection within 60 days.",
    "You will receive an email acknowledging your application. Your materials will be used "
    "to determine eligibility, qualifications and ranking. You will be notified when a "
    "decision is made.",
    "If you are selected, you will receive a tentative offer contingent on a background "
    "check and other pre-employment requirements, followed by a final offer with your start "
    "date.",
)

REQUIRED_DOCUMENTS: tuple[str, ...] = (
    "A resume showing your work history with dates, hours per week and duties; transcripts "
    "if you qualify on education; a DD-214 or statement of service if you claim veterans' "
    "preference; and your most recent SF-50 if you are a current or former federal "
    "employee.",
    "Resume, responses to the questionnaire, and any documents needed to support an "
    "eligibility claim (SF-50, DD-214, VA letter, Schedule A letter). Personal data such as "
    "social security numbers should be removed before upload.",
    "Your resume and the assessment questionnaire are required. Other documents are needed "
    "only if you claim a special eligibility.",
)

BENEFITS: tuple[str, ...] = (
    "",
    "A career with the federal government provides employees with a comprehensive benefits "
    "package, including health, dental, vision, life and long-term care insurance, a "
    "retirement plan with a thrift savings plan match, paid leave and holidays.",
    "Benefits include annual and sick leave, eleven paid holidays, health insurance with a "
    "government contribution, retirement, and eligibility for telework where the position "
    "allows it.",
)

OTHER_INFORMATION: tuple[str, ...] = (
    "This announcement may be used to fill similar positions in the same location within "
    "ninety days. Relocation expenses are not authorized. Salary will be set according to "
    "federal pay rules and may include a locality adjustment.",
    "Selectees may be required to complete a probationary period. Recruitment or relocation "
    "incentives may be offered to highly qualified candidates. The agency participates in "
    "E-Verify.",
    "Reasonable accommodation is available for applicants with disabilities; contact the "
    "agency representative to request it. Interviews may be conducted by video.",
    "",
)
