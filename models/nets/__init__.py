"""Task networks; importing this package registers every model with the registry."""
from . import polygon_rnn  # noqa: F401
from . import prernn_nets  # noqa: F401
from . import sequence  # noqa: F401
from . import action  # noqa: F401
from . import mcnet  # noqa: F401
from . import nowcast  # noqa: F401
from . import steering  # noqa: F401
from . import openstl  # noqa: F401
