# Django's English formats, with the timezone's abbreviation after every time (T): a staff page
# shows times in the store's timezone, and says which.
DATETIME_FORMAT = "N j, Y, P T"
SHORT_DATETIME_FORMAT = "m/d/Y P T"
TIME_FORMAT = "P T"
