SELECT '{{ ds }}' AS day, '{{ params.colour }}' AS colour, 42 AS n
