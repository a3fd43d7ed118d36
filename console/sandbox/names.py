"""Word lists for believable, made-up people, customers and notes."""

FIRST_NAMES = (
    "Maria", "Dev", "James", "Aisha", "Luis", "Mei", "Tomas", "Priya", "Kwame", "Sofia", "Jamal",
    "Elena", "Hiroshi", "Fatima", "Diego", "Grace", "Omar", "Nina", "Carlos", "Leila", "Ben",
    "Ana", "Tariq", "Rosa", "Kenji", "Zoe", "Ivan", "Amara", "Marcus", "Lina", "Pedro", "Chloe",
    "Ravi", "Yuki", "Samuel", "Ines", "Andre", "Hana", "Victor", "Maya",
)
LAST_NAMES = (
    "Lopez", "Patel", "Nguyen", "Okafor", "Garcia", "Chen", "Kim", "Johnson", "Silva", "Haddad",
    "Rossi", "Tanaka", "Mensah", "Novak", "Ramirez", "Schmidt", "Ali", "Cohen", "Santos", "Wong",
    "Reyes", "Moreau", "Singh", "Park", "Diaz", "Kowalski", "Ibrahim", "Murphy", "Costa", "Yamada",
)
CUSTOMERS = (
    "Bayside Bakery", "Lakeshore Dental", "Temescal Tools", "Mission Florals", "Grand Ave Books",
    "Fruitvale Pharmacy", "Sunset Cycles", "Jack London Coffee", "Rockridge Market",
    "North Beach Deli", "Alameda Vet Clinic", "Potrero Print Shop", "Dogpatch Brewing",
    "Berkeley Bowl West", "Willow Glen Hardware", "Japantown Tea House", "Piedmont Pets",
    "Castro Cleaners", "SoMa Office Supply", "Uptown Optics",
)
NOTES = (
    "Leave at reception", "Call on arrival", "Fragile: handle with care", "Use the loading dock",
    "Ring bell twice", "Side entrance on the left", "Signature required", "Deliver before noon",
)
PRODUCT_TYPES = (("chilled",), ("fragile",), ("bulky",), ("documents",), ("pharmacy",), ("chilled", "fragile"))
PLANNING_FAILURE_REASONS = (
    "No Worker was available for this plan.",
    "The optimizer dropped this order to satisfy planning constraints for the overall plan.",
)
